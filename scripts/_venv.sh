# Sourced by scripts/*: create or reuse .venv and install the project with its test extras.
# Every dependency comes from requirements/dev.txt (pinned, with hashes: pip refuses anything
# else; ./scripts/lock refreshes it), then the project itself, editable, without resolving again.
# Reinstalls only when pyproject.toml or the lock changed since the last install. pip's output
# goes to .venv/install.log and is shown only if the install fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "scorebridge needs Python >= 3.11 ($py is $("$py" --version 2>&1)); set PYTHON=..." >&2
    exit 2
  fi
  "$py" -m venv "$venv"
fi
stamp="$venv/.scorebridge-installed"
lock="$root/requirements/dev.txt"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  echo "Installing scorebridge and its dependencies into .venv (first run only, about a minute) ..." >&2
  log="$venv/install.log"
  pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
  if ! { "${pip[@]}" install --quiet --no-warn-script-location --require-hashes -r "$lock" \
         && "${pip[@]}" install --quiet --no-warn-script-location --no-deps --no-build-isolation \
              -e "$root"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "installing into .venv failed; the whole log is $log" >&2
    exit 1
  fi
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
