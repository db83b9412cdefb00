// Package plural writes counts of things in messages: "1 table",
// "2 tables".
package plural

import "strconv"

// Count returns n and word, with an "s" when n is not 1: "1 day",
// "0 days", "2 days". Words whose plural is not word+"s" are not for it.
func Count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
