package togetherapi

import (
	"fmt"
	"unicode/utf8"
)

// nameChar reports whether c may appear in a name, per NamePattern. A loop
// over bytes does in nanoseconds, and with nothing to compile at start-up,
// what the pattern says.
func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-'
}

// validName reports whether s is non-empty and every byte is a nameChar.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !nameChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// FieldError is a field that breaks a rule: a request's, of the API's
// rules, or a Config's, which New refuses. Its text never includes a value.
type FieldError struct {
	// Field is the JSON name of a request's field, or the name of a
	// Config's.
	Field string
	// Problem says what is wrong, in words meant for the person or agent who
	// must fix it.
	Problem string
	// HoldsValue says the field, a name or a description, holds the secret
	// value, and would store it in plain text: a caller may say how to
	// choose another.
	HoldsValue bool
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// Validate reports the first field of r that the API would refuse, or that
// would put the value where it is stored in plain text.
func (r CreateSecretRequest) Validate() error {
	if err := ValidateName("name", r.Name); err != nil {
		return err
	}
	if err := validateValue("value", r.Value); err != nil {
		return err
	}
	if err := ValidateDescription(r.Description); err != nil {
		return err
	}
	return checkNotIn(r.Value, "name", r.Name, "description", r.Description)
}

// validateValue checks a secret value against the client's limits. field
// names the argument in the error, which never quotes the value.
func validateValue(field string, v Sensitive) error {
	switch {
	case v.IsZero():
		return &FieldError{Field: field, Problem: "is required and must not be empty"}
	case v.size() > ValueMaxBytes:
		return &FieldError{Field: field, Problem: fmt.Sprintf("must be at most %d bytes (it has %d)", ValueMaxBytes, v.size())}
	case !utf8.ValidString(v.s):
		// encoding/json would send each bad byte as U+FFFD: the value
		// stored would differ from the one given, and from every scrub
		// set built from it.
		return &FieldError{Field: field, Problem: "must be valid UTF-8 text; Together stores text, and this value would be stored altered"}
	}
	return nil
}

// checkNotIn refuses texts that hold the value: names and descriptions are
// stored in plain text and shown in every list. A value of minSubstringLen
// characters or more may not stand anywhere in them, in any spelling; a
// shorter one, which could be there by chance, may not be the whole text.
// pairs are field names and texts.
func checkNotIn(v Sensitive, pairs ...string) error {
	if v.IsZero() {
		return nil
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if (Scrubber{v}).carries(pairs[i+1]) {
			return &FieldError{Field: pairs[i], HoldsValue: true, Problem: "contains the secret value, and Together stores " + pairs[i] +
				"s in plain text and shows them in every list"}
		}
	}
	return nil
}

// ValidateName checks a secret name against the API's rules. field names the
// argument in the error.
func ValidateName(field, name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return &FieldError{Field: field, Problem: "is required and must not be empty"}
	case n > NameMaxLength:
		return &FieldError{Field: field, Problem: fmt.Sprintf("must be at most %d characters (it has %d)", NameMaxLength, n)}
	case !validName(name):
		for i, r := range name {
			if !(r < utf8.RuneSelf && nameChar(byte(r))) {
				return &FieldError{Field: field, Problem: fmt.Sprintf(
					"may contain only letters, digits, '_', '-', '/' and '.' (found %q at position %d)", r, utf8.RuneCountInString(name[:i])+1)}
			}
		}
	}
	return nil
}

// ValidateDescription checks a description against the API's limit.
func ValidateDescription(d string) error {
	if n := utf8.RuneCountInString(d); n > DescriptionMaxLength {
		return &FieldError{Field: "description", Problem: fmt.Sprintf("must be at most %d characters (it has %d)", DescriptionMaxLength, n)}
	}
	return nil
}

// Validate reports the first field of r that the API would refuse, or that
// would put the new value where it is stored in plain text.
func (r UpdateSecretRequest) Validate() error {
	if r.Name == "" && r.Value.IsZero() && r.Description == nil {
		return errNoChange
	}
	if r.Name != "" {
		if err := ValidateName("name", r.Name); err != nil {
			return err
		}
	}
	if !r.Value.IsZero() {
		if err := validateValue("value", r.Value); err != nil {
			return err
		}
	}
	var desc string
	if r.Description != nil {
		if err := ValidateDescription(*r.Description); err != nil {
			return err
		}
		desc = *r.Description
	}
	return checkNotIn(r.Value, "name", r.Name, "description", desc)
}

// ValidateDeploymentRef checks that a deployment's ID or name can stand as
// one segment of the request path, naming field in the error.
func ValidateDeploymentRef(field, idOrName string) error {
	switch {
	case idOrName == "":
		return &FieldError{Field: field, Problem: "is required: give the deployment's ID or name"}
	case len(idOrName) > 256 || !isPlainSegment(idOrName):
		return &FieldError{Field: field, Problem: "is not a deployment ID or name: those are letters, digits, \"_\" and \"-\""}
	}
	return nil
}

// checkVariableChange checks the arguments every change of a variable
// takes, before anything is sent.
func checkVariableChange(deployment, variable string) error {
	if err := ValidateDeploymentRef("deployment", deployment); err != nil {
		return err
	}
	return ValidateVariableName("variable", variable)
}

// ValidateVariableName checks a variable name against the API's rule,
// naming field in the error.
func ValidateVariableName(field, name string) error {
	switch {
	case name == "":
		return &FieldError{Field: field, Problem: "is required: give the environment variable's name"}
	case len(name) > VariableNameMaxLength:
		return &FieldError{Field: field, Problem: fmt.Sprintf("is longer than %d characters", VariableNameMaxLength)}
	case !validVariableName(name):
		return &FieldError{Field: field, Problem: "must start with a letter or \"_\" and hold only letters, digits and \"_\", such as HF_TOKEN"}
	}
	return nil
}

func validVariableName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}
