package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestFileIsPrivateToTheUser: mode bits mean little on Windows, so the file store (and every copy
// of it before the rename) gets a DACL that grants the current user alone, and inherits nothing.
// Read back from the written file, that is exactly what Windows reports.
//
// Wine 8.0 keeps no security descriptor: it turns a DACL into Unix mode bits and reads back one
// made from them, which always grants SYSTEM and is never protected. Under Wine the test can
// still see that no one but the user (and that SYSTEM) is granted anything: a file made without
// the DACL grants Everyone read there.
func TestFileIsPrivateToTheUser(t *testing.T) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.User.Sid.String()
	// What createTemp hands to CreateFile, whatever the file system makes of it.
	sd, err := privateFileSD()
	if err != nil {
		t.Fatal(err)
	}
	if protected, aces := dacl(t, sd); !protected || !slices.Equal(aces, []string{"allow " + me + " full"}) {
		t.Errorf("the DACL given to CreateFile: protected %v, ACEs %v; want protected, the user alone", protected, aces)
	}

	path := filepath.Join(testenv.TempDir(t), "secrets")
	s, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	written, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	protected, aces := dacl(t, written)
	t.Logf("%s: %s", path, written)
	if !testenv.UnderWine() {
		if !protected || !slices.Equal(aces, []string{"allow " + me + " full"}) {
			t.Errorf("the written file: protected %v, ACEs %v; want protected, the user alone", protected, aces)
		}
		return
	}
	if !slices.Contains(aces, "allow "+me+" full") {
		t.Errorf("the written file does not grant the user full access: %v", aces)
	}
	for _, a := range aces {
		if a != "allow "+me+" full" && a != "allow S-1-5-18 full" {
			t.Errorf("the written file grants more than the user (and Wine's SYSTEM): %v", aces)
		}
	}
}

// fileAllAccess is FILE_ALL_ACCESS ("FA" in SDDL), which x/sys/windows does not name.
const fileAllAccess = windows.STANDARD_RIGHTS_REQUIRED | windows.SYNCHRONIZE | 0x1ff

// dacl is whether sd's DACL is protected, and its ACEs as "allow|deny SID full|MASK".
func dacl(t *testing.T, sd *windows.SECURITY_DESCRIPTOR) (protected bool, aces []string) {
	t.Helper()
	control, _, err := sd.Control()
	if err != nil {
		t.Fatal(err)
	}
	acl, _, err := sd.DACL()
	if err != nil || acl == nil {
		t.Fatalf("no DACL (%v): anyone may open the file", err)
	}
	for i := range uint32(acl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(acl, i, &ace); err != nil {
			t.Fatal(err)
		}
		kind := "allow"
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			kind = fmt.Sprintf("type %d", ace.Header.AceType)
		}
		mask := fmt.Sprintf("%#x", ace.Mask)
		if ace.Mask&fileAllAccess == fileAllAccess {
			mask = "full"
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		aces = append(aces, kind+" "+sid.String()+" "+mask)
	}
	return control&windows.SE_DACL_PROTECTED != 0, aces
}
