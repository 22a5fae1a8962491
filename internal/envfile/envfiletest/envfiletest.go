// Package envfiletest holds the dotenv fixture that the tests of envfile
// and of import_env_file share: a file in the syntax people write that
// every common reader reads alike, whose every value is a canary, and what
// it reads as.
package envfiletest

import (
	"path/filepath"
	"runtime"
)

// Path is the fixture's path.
func Path() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "testdata", "tricky.env")
}

// Values are the fixture's values that are not empty, by key.
var Values = map[string]string{
	"EXPORTED":      "CANARYVALUE-exported-1a2b",
	"PLAIN":         "CANARYVALUE-plain-3c4d",
	"HASH_INSIDE":   "CANARYVALUE-hash#inside-5e6f",
	"SINGLE":        `CANARYVALUE-single $NOT_EXPANDED \n "stays"`,
	"DOUBLE":        `CANARYVALUE-double 'quoted' # and ! kept`,
	"MULTI":         "CANARYVALUE-multi line one\nline two",
	"INDENTED":      "CANARYVALUE-indented-7a8b",
	"TRAILING":      "CANARYVALUE-trailing-9c0d",
	"PUNCTUATED":    "CANARYVALUE-p:u/n.c,t=u@a+t%e^d!{x}[y]*?",
	"lower_case":    "CANARYVALUE-lower-1e2f",
	"SHORT":         "e",
	"HTTP_PROXY":    "http://user:CANARYVALUE-pw@proxy.example:3128",
	"PRIVATE_KEY":   "-----BEGIN KEY-----\nCANARYVALUE-pem-base64+/=\n-----END KEY-----",
	"SPACED_QUOTED": "CANARYVALUE spaced  3a4b ",
	"LAST":          "CANARYVALUE-last",
}

// Empty are the fixture's keys whose values are empty.
var Empty = []string{"EMPTY", "EMPTY_QUOTED"}

// Lines are where some assignments start, from 1.
var Lines = map[string]int{"EXPORTED": 2, "MULTI": 8, "INDENTED": 10, "PRIVATE_KEY": 18, "LAST": 22}
