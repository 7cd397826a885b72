#!/usr/bin/env bash
# Run ansible-test on a copy of the collection placed where ansible-test wants it:
#   .build/ansible-test/ansible_collections/kubedc/ovn_tuning
#
#   tests/sanity/run.sh                      # ansible-test sanity (every test, Python 3.11)
#   tests/sanity/run.sh sanity --test pep8   # one sanity test
#   tests/sanity/run.sh units                # ansible-test units (tests/unit)
#
# The copy holds the git-tracked files plus new, not-ignored files of the working tree, as they
# are on disk now, so uncommitted edits are checked too. `--venv` makes ansible-test install
# its own pinned requirements (from PyPI) into virtualenvs under ~/.ansible/test; no container
# engine is needed. ANSIBLE_TEST (default: .venv/bin/ansible-test) picks the ansible-test to use.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$ROOT/.build/ansible-test/ansible_collections/kubedc/ovn_tuning"
ANSIBLE_TEST="${ANSIBLE_TEST:-$ROOT/.venv/bin/ansible-test}"
PYTHON_VERSION="${PYTHON_VERSION:-3.11}"

command="${1:-sanity}"
[ $# -gt 0 ] && shift

case "$command" in
  sanity|units) ;;
  *) echo "usage: $0 [sanity|units] [ansible-test options]" >&2; exit 2 ;;
esac

# The collection is sanity-clean without exceptions: an ignore file with entries is refused.
for ignore_file in "$ROOT"/tests/sanity/ignore-*.txt; do
  [ -e "$ignore_file" ] || continue
  if grep -qv '^[[:space:]]*\(#\|$\)' "$ignore_file"; then
    echo "${ignore_file#"$ROOT"/} has entries: fix what sanity reports instead of ignoring it" >&2
    exit 1
  fi
done

# tests/unit/requirements.txt (what ansible-test units installs) repeats pins of requirements*.txt:
# refuse to run when they have drifted apart.
while read -r pin; do
  case "$pin" in ''|'#'*) continue ;; esac
  if ! grep -qixF "$pin" "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"; then
    echo "tests/unit/requirements.txt pins '$pin', which requirements.txt/requirements-test.txt do not" >&2
    exit 1
  fi
done < "$ROOT/tests/unit/requirements.txt"

# ansible-test seeds pip in each of its virtualenvs with a get-pip.py script downloaded from
# ci-files.testing.ansible.com, which is not reachable from here: give it a local stand-in
# (tests/sanity/pip_bootstrap.py) unless a script is already cached.
pip_version="$("$(dirname "$ANSIBLE_TEST")/python" - <<'PY'
import os, re, ansible_test
source = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)"
pip_cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$pip_cache" ]; then
  mkdir -p "$(dirname "$pip_cache")"
  cp "$ROOT/tests/sanity/pip_bootstrap.py" "$pip_cache"
fi

# One run at a time: the copy is shared. The lock is held by ansible-test itself (exec below).
mkdir -p "$ROOT/.build"
exec 9>"$ROOT/.build/ansible-test.lock"
if ! flock -w 1800 9; then
  echo "another tests/sanity/run.sh has held .build/ansible-test.lock for 30 minutes" >&2
  exit 1
fi

rm -rf "$DEST"
mkdir -p "$DEST"

cd "$ROOT"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and new (not ignored) files that exist on disk; a file deleted but not yet
  # committed is left out.
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' path; do
        case "$path" in .build/*|.venv/*) continue ;; esac
        [ -f "$path" ] && printf '%s\0' "$path"
      done \
    | tar --null --no-recursion -T - -cf - | tar -xf - -C "$DEST"
else
  tar --exclude=./.build --exclude=./.venv --exclude=./.git --exclude='__pycache__' \
    --exclude='.pytest_cache' -cf - . | tar -xf - -C "$DEST"
fi

cd "$DEST"
# ansible-test looks for version control from the collection root upwards; without a repository
# of its own the copy would be taken for part of the project's (where .build is ignored) and
# every file skipped. An empty repository makes ansible-test list the copy's files as untracked.
# ansible-test's own output (tests/output: its virtualenvs, results) must not count as content.
git init -q .
echo "/tests/output/" >> .git/info/exclude
exec "$ANSIBLE_TEST" "$command" --venv --python "$PYTHON_VERSION" --color no "$@"
