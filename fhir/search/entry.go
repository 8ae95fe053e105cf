package search

// Type is a search parameter type.
type Type uint8

// The search parameter types that produce index entries.
const (
	String Type = iota + 1
	Token
	Reference
	Date
	Number
	Quantity
	URI
)

var typeNames = [...]string{"", "string", "token", "reference", "date", "number", "quantity", "uri"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Entry is one value of one search parameter of one resource version.
type Entry struct {
	// Code is the search parameter code, e.g. "birthdate".
	Code string
	Type Type
	// System is the token or quantity system, or the target type of a reference.
	System string
	// Value is the normalised string, the code, the reference id, the uri, or the quantity unit code.
	Value string
	// Low and High bound a date as [Low, High) in Unix milliseconds.
	Low, High int64
	// Num is the value of a number or quantity.
	Num float64
}
