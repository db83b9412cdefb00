package scram

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestScramVerifier checks the verifier against RFC 7677's example
// exchange (user "user", password "pencil"): a server holding only the
// verifier must accept the RFC's ClientProof and answer with its
// ServerSignature.
func TestScramVerifier(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := Verifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(v, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
	if !ok {
		t.Fatalf("verifier %s has the wrong shape", v)
	}
	storedB64, serverB64, _ := strings.Cut(rest, ":")
	storedKey, _ := base64.StdEncoding.DecodeString(storedB64)
	serverKey, _ := base64.StdEncoding.DecodeString(serverB64)
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	mac := func(key []byte) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(authMessage))
		return h.Sum(nil)
	}
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := mac(storedKey)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	if sum := sha256.Sum256(clientKey); !bytes.Equal(sum[:], storedKey) {
		t.Error("the RFC's ClientProof does not verify against StoredKey")
	}
	if got := base64.StdEncoding.EncodeToString(mac(serverKey)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("ServerSignature = %s, want the RFC's", got)
	}
	a, _ := Verifier("x", nil, 4096)
	b, _ := Verifier("x", nil, 4096)
	if a == b {
		t.Error("two verifiers share a salt")
	}
}
