package pgaurora

// Ptr returns a pointer to v, for the optional (pointer) fields of
// settings and options: pgaudit.Settings{LogCatalog: pgaurora.Ptr(false)}.
func Ptr[T any](v T) *T { return &v }
