package web

import (
	"html/template"
	"strings"
)

// funcs are the template functions that do not depend on the language;
// language-dependent ones are methods of Locale ({{.L.T "key"}}).
var funcs = template.FuncMap{
	"hasPrefix": strings.HasPrefix,
	// pair and list build the sections of a page that repeats one table.
	"pair": func(name string, lines []statLine) namedLines { return namedLines{name, lines} },
	"list": func(items ...namedLines) []namedLines { return items },
}

// namedLines is a titled table of statistics.
type namedLines struct {
	Name  string
	Lines []statLine
}
