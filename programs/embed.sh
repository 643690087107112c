#!/bin/sh
# embed.sh NAME SOURCE > OUT.inc: the BPF source as a C string constant
# NAME, with its local #include "x.h" lines replaced by the header text
# (BCC compiles from a string and cannot see this directory).
set -eu
name=$1
src=$2
dir=$(dirname "$src")
expand() {
	while IFS= read -r line; do
		case $line in
		'#include "'*'"')
			h=${line#'#include "'}
			expand < "$dir/${h%'"'}"
			;;
		*) printf '%s\n' "$line" ;;
		esac
	done
}
echo "/* generated from $(basename "$src") by embed.sh; do not edit */"
echo "static const char $name[] ="
expand < "$src" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/'
echo ";"
