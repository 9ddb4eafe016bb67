package oskeyring

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

func TestErrorsMapToStoreSentinels(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   error
		want error
	}{
		{"not found", keyring.ErrNotFound, store.ErrNotFound},
		{"no Secret Service", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, store.ErrUnavailable},
		{"no owner (pointer)", &dbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner"}, store.ErrUnavailable},
		{"not activatable", errors.New("The name org.freedesktop.secrets was not provided by any .service files"), store.ErrUnavailable},
		{"socket gone", fmt.Errorf("dial unix /run/user/0/bus: %w", syscall.ENOENT), store.ErrUnavailable},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), store.ErrUnavailable},
		{"locked", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, store.ErrLocked},
		{"prompt failed", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"), store.ErrLocked},
	} {
		if got := mapErr(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("%s: mapErr(%v) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
	other := errors.New("something else")
	if got := mapErr(other); !errors.Is(got, other) || errors.Is(got, store.ErrNotFound) || errors.Is(got, store.ErrUnavailable) || errors.Is(got, store.ErrLocked) {
		t.Errorf("mapErr(other) = %v, want it wrapped and unclassified", got)
	}
}
