#!/usr/bin/env bash
# Regenerates the Java bindings of native/include/panbuf.h into
# src/main/java/dev/panbuf/shim/bindings with jextract, from the options in
# jextract/panbuf.args. The generated files are committed and never edited by
# hand; after a header change, run this and commit the result with the header.
#
#   JEXTRACT=/path/to/jextract jextract/regenerate.sh        # regenerate
#   JEXTRACT=/path/to/jextract jextract/regenerate.sh --check # fail if the committed files differ
#
# jextract is not published to any package registry: build it from
# https://github.com/openjdk/jextract (the branch matching your JDK) or take a
# binary from https://jdk.java.net/jextract, then point JEXTRACT at its
# bin/jextract (or put it on the PATH).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jextract=${JEXTRACT:-$(command -v jextract || true)}
if [ -z "$jextract" ] || [ ! -x "$jextract" ]; then
  echo "regenerate.sh: jextract not found; set JEXTRACT to its bin/jextract or put it on the PATH" >&2
  exit 2
fi
pkg_dir=dev/panbuf/shim/bindings
cd "$root"
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  "$jextract" @jextract/panbuf.args --output "$out" native/include/panbuf.h
  if diff -r "$out/$pkg_dir" "src/main/java/$pkg_dir"; then
    echo "bindings are up to date"
  else
    echo "regenerate.sh: committed bindings differ from jextract's output (diff above)" >&2
    exit 1
  fi
else
  rm -rf "src/main/java/$pkg_dir"
  "$jextract" @jextract/panbuf.args --output src/main/java native/include/panbuf.h
  echo "regenerated src/main/java/$pkg_dir:"
  ls "src/main/java/$pkg_dir"
fi
