package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/logos-messaging/libsds-go/libsds/internal/ctest"
)

// TestVersionsAgree checks that the VERSION file (which the Makefile stamps
// into main.version), the header's LIBSDS_VERSION and its parts, and what
// libsds_version() reports are one version.
func TestVersionsAgree(t *testing.T) {
	file, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(file))
	header, err := os.ReadFile("../include/sds.h")
	if err != nil {
		t.Fatal(err)
	}
	define := func(name string) string {
		m := regexp.MustCompile(`(?m)^#define ` + name + `\s+"?([^"\s]+)"?\s*$`).FindSubmatch(header)
		if m == nil {
			t.Fatalf("sds.h does not define %s", name)
		}
		return string(m[1])
	}
	if got := define("LIBSDS_VERSION"); got != want {
		t.Errorf("sds.h: LIBSDS_VERSION %q, VERSION %q", got, want)
	}
	parts := fmt.Sprintf("%s.%s.%s", define("LIBSDS_VERSION_MAJOR"), define("LIBSDS_VERSION_MINOR"), define("LIBSDS_VERSION_PATCH"))
	if parts != want {
		t.Errorf("sds.h: LIBSDS_VERSION_MAJOR.MINOR.PATCH %q, VERSION %q", parts, want)
	}
	if got := ctest.Version(); got != want {
		t.Errorf("libsds_version() = %q, VERSION %q", got, want)
	}
	if version != "dev" && version != want {
		t.Errorf("main.version = %q, VERSION %q", version, want)
	}
}
