#!/bin/sh
# Builds git-credential-azdo from this checkout, installs it, and points git at it for Azure DevOps.
#   ./install.sh                  install into ~/.local/bin and run 'git-credential-azdo configure'
#   ./install.sh --bin-dir DIR    install into DIR instead
#   ./install.sh --no-configure   install only
#   ./install.sh --uninstall      run 'unconfigure' and remove the binary
#   ./install.sh --demo           install, then clone and push through the helper against the local
#                                 emulator of Entra ID + Azure DevOps: no Azure account needed
# Running it again rebuilds and reconfigures; nothing is added twice.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin_dir="${HOME}/.local/bin"
action=install
configure=yes

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory"; bin_dir=$2; shift ;;
    --bin-dir=*) bin_dir=${1#--bin-dir=} ;;
    --no-configure) configure=no ;;
    --uninstall) action=uninstall ;;
    --demo) action=demo ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1: see ./install.sh --help" ;;
  esac
  shift
done

exe=git-credential-azdo
target="$bin_dir/$exe"
# A second program an earlier install put beside it: this one now does its work.
old_full="$bin_dir/git-credential-azdo-full"

if [ "$action" = uninstall ]; then
  if [ -x "$target" ]; then
    # The PATs it made stay valid until they expire, and this removes the command that revokes
    # them: say so. status --json prints one key per line; a PAT not expired may still work.
    signed_in=
    if status=$("$target" status --json 2>/dev/null); then
      held=$(printf '%s\n' "$status" | awk -F'"' '
        /^  [{]/ { org = ""; kind = ""; state = "" }
        $2 == "org" { org = $4 }
        $2 == "kind" { kind = $4 }
        $2 == "state" { state = $4 }
        /^  [}]/ && kind == "pat" && state != "expired" && state != "missing" { print org }' | sort -u | tr '\n' ' ')
      case $status in *'"org":'*) signed_in=yes ;; esac
    else
      held="?"
    fi
    "$target" unconfigure --global # says whether it removed anything from git's config
    rm -f "$target" "$old_full"
    say "removed $target"
    case $held in
      "") [ -z "$signed_in" ] || say "your sign-in stays cached: to delete it, install again and run 'git-credential-azdo logout --all'" ;;
      "?") say "could not list the PATs it made ('git-credential-azdo status' failed): they stay valid until they expire; to see and revoke them, install again and run 'git-credential-azdo status', then 'git-credential-azdo logout --all'" ;;
      *) say "the PATs for ${held% } stay cached and valid until they expire: to revoke them and delete the cached sign-in, install again and run 'git-credential-azdo logout --all'" ;;
    esac
  else
    say "nothing installed at $target"
  fi
  exit 0
fi

# Prerequisites: say exactly what is missing and how to get it.
command -v git >/dev/null 2>&1 || die "git is missing: install it (Debian: apt-get install git; macOS: xcode-select --install)"
command -v go >/dev/null 2>&1 || die "Go is missing: install Go 1.25 or later from your package manager or go.dev/dl, then run ./install.sh again"
need=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$here/go.mod")
have=$(go env GOVERSION | sed 's/^go//')
older() { # is $1 older than $2 (dotted versions)?
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" = "$1" ]
}
if older "$have" "$need" && [ "$(go env GOTOOLCHAIN)" = local ]; then
  die "Go $have is older than the $need this module needs: upgrade Go, or unset GOTOOLCHAIN=local"
fi

mkdir -p "$bin_dir"
say "building $exe with $(go version | cut -d' ' -f3)"
# A static build starts faster: git runs the helper on every fetch and push.
(cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$target.tmp" ./cmd/git-credential-azdo)
mv -f "$target.tmp" "$target"
if [ -e "$old_full" ]; then
  rm -f "$old_full"
  say "removed $old_full, which an earlier install left: $exe does all it did"
fi
say "installed $target"

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "$bin_dir is not on your PATH; add it, e.g.: echo 'export PATH=\"$bin_dir:\$PATH\"' >> ~/.profile" ;;
esac

if [ "$action" = install ]; then
  if [ "$configure" = yes ]; then
    PATH="$bin_dir:$PATH" "$target" configure --global
    say "done: 'git clone https://dev.azure.com/ORG/PROJECT/_git/REPO' now signs you in once and mints a PAT"
  else
    say "done: git does not use it yet; to make it git's helper for Azure DevOps, run '$target configure'"
  fi
  exit 0
fi

# --demo: the main job end to end against the emulator, in a throwaway home.
demo=$(mktemp -d "${TMPDIR:-/tmp}/azdo-demo.XXXXXX")
trap 'kill "$emu_pid" 2>/dev/null || true; rm -rf "$demo"' EXIT INT TERM
emu_pid=
(cd "$here" && go build -trimpath -o "$demo/azdo-emulator" ./cmd/azdo-emulator)
"$demo/azdo-emulator" -dir "$demo/emulator" -auto-approve > "$demo/ready.json" 2> "$demo/emulator.log" &
emu_pid=$!
i=0
until [ -s "$demo/ready.json" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || die "the emulator did not start: $(cat "$demo/emulator.log")"
  sleep 0.1
done
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$demo/ready.json"; }
repo_url=$(field repoUrl)
# GIT_SSL_CAINFO would override the emulator's per-URL http.sslCAInfo in its git config.
unset GIT_SSL_CAINFO
export HOME="$demo/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$demo/home/.gitconfig"
export PATH="$bin_dir:$PATH" AZDO_LOGIN=device AZDO_STORE=file
mkdir -p "$HOME"
printf '[include]\n\tpath = %s\n[user]\n\tname = Demo\n\temail = demo@example.invalid\n' "$(field gitConfig)" > "$GIT_CONFIG_GLOBAL"
say "emulator at $(field url); cloning $repo_url (first time: device-code sign-in, approved by the emulator)"
git clone -q "$repo_url" "$demo/clone"
cd "$demo/clone"
echo "pushed by the git-credential-azdo demo" > demo.txt
git add demo.txt && git commit -qm "demo commit"
git push -q origin HEAD
say "pushed a commit; cloning again (cached PAT: no sign-in, no API call)"
git clone -q "$repo_url" "$demo/clone2"
test -f "$demo/clone2/demo.txt" || die "the pushed file is missing from the second clone"
# The helper line in git's config carries the emulator's settings; other commands take them here.
AZDO_SERVICE_URL=$(field url) AZDO_AUTHORITY=$(field url) AZDO_CA_FILE=$(field caFile) "$exe" status
say "demo done: one sign-in, one PAT, a clone, a push and a second clone through the helper"
