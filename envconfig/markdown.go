package envconfig

import (
	"fmt"
	"strings"
)

// Markdown renders Vars as the tables of docs/configuration.md: one per kind.
func Markdown() string {
	var b strings.Builder
	for _, k := range []struct {
		kind  Kind
		title string
	}{
		{Config, "facegate and its Go client"},
		{Build, "The build"},
		{Test, "Test switches (read by tests and make targets only)"},
	} {
		fmt.Fprintf(&b, "### %s\n\n| Variable | Default | What it does |\n|---|---|---|\n", k.title)
		for _, v := range Vars {
			if v.Kind != k.kind {
				continue
			}
			def := "(none)"
			if v.Default != "" {
				def = "`" + v.Default + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Description, "|", `\|`))
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
