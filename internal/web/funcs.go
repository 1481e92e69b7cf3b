package web

import (
	"html/template"
	"strings"
)

// funcs are the template functions that do not depend on the language;
// language-dependent ones are methods of Locale ({{.L.T "key"}}).
var funcs = template.FuncMap{
	"hasPrefix": strings.HasPrefix,
}
