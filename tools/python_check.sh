#!/bin/sh
# The course runs on Python 3.11 to 3.14 (pyproject.toml's requires-python; tests/test_install.py keeps them in step).
#   sh tools/python_check.sh pick [PYTHON]        prints the interpreter to create .venv with
#   sh tools/python_check.sh venv VENV [PYTHON]   checks an existing VENV (nothing to do if it does not exist)
# Each failure is one line on stderr that says what to do, and exit status 1.
SUPPORTED="3.11 to 3.14"
CANDIDATES="python3 python3.13 python3.12 python3.11 python3.14"

version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
supported() { case "$1" in 3.11|3.12|3.13|3.14) return 0 ;; *) return 1 ;; esac; }
fail() { echo "$*" >&2; exit 1; }

case "$1" in
pick)
  if [ -n "$2" ]; then
    v=$(version_of "$2") || fail "PYTHON=$2 does not run: give a Python $SUPPORTED, e.g. make lab PYTHON=python3.12"
    supported "$v" || fail "PYTHON=$2 is Python $v; the course needs Python $SUPPORTED: install one and run make lab PYTHON=python3.12"
    echo "$2"; exit 0
  fi
  for candidate in $CANDIDATES; do
    v=$(version_of "$candidate") && supported "$v" && { echo "$candidate"; exit 0; }
  done
  found=$(version_of python3) || found="none"
  fail "No Python $SUPPORTED found (python3: $found): install one (python.org, Homebrew, apt, pyenv) and run make lab PYTHON=python3.12"
  ;;
venv)
  venv=$2; wanted=$3
  [ -e "$venv/bin/python" ] || exit 0
  v=$(version_of "$venv/bin/python") || fail "$venv does not run (the Python that made it is gone?): run make clean, then make lab"
  supported "$v" || fail "$venv was made by Python $v; the course needs Python $SUPPORTED: run make clean, then make lab PYTHON=python3.12"
  if [ -n "$wanted" ]; then
    w=$(version_of "$wanted") || fail "PYTHON=$wanted does not run: give a Python $SUPPORTED, e.g. make lab PYTHON=python3.12"
    supported "$w" || fail "PYTHON=$wanted is Python $w; the course needs Python $SUPPORTED: install one and run make lab PYTHON=python3.12"
    [ "$w" = "$v" ] || fail "$venv was made by Python $v, not PYTHON=$wanted ($w): run make clean first to switch"
  fi
  ;;
*)
  fail "usage: sh tools/python_check.sh pick [PYTHON] | venv VENV [PYTHON]"
  ;;
esac
