/* One ELF file: its identity, its loadable segments, and a single pass
 * over its function symbols. */
#ifndef CKBTRACE_ELFSYM_H
#define CKBTRACE_ELFSYM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_LOADS 16

struct elf_load {
	uint64_t vaddr, memsz, filesz, offset;
	uint32_t flags;
};

struct elf_file {
	char path[PATH_MAX];
	int fd;
	void *elf;		/* Elf * */
	int elf_class;		/* ELFCLASS32 / ELFCLASS64 */
	int machine;		/* EM_* */
	int type;		/* ET_EXEC, ET_DYN, ... */
	uint64_t file_size;
	bool has_symtab;
	bool has_dynsym;
	bool has_debug;		/* a .debug_info section */
	char build_id[41];	/* hex, "" when absent */
	int nloads;
	struct elf_load loads[ELF_MAX_LOADS];
	char debuglink[256];	/* the .gnu_debuglink file name, or "" */
	uint32_t debuglink_crc;
	/* A stripped file's symbols from a separate debug file, found the
	 * way gdb and perf look: by build-id under the debug directories,
	 * then by .gnu_debuglink beside the file, in .debug/, and under the
	 * debug directories.  The directories are $CKBTRACE_DEBUG_DIRS
	 * (colon separated) or /usr/lib/debug, inside the traced process's
	 * root first. */
	char debug_path[PATH_MAX];	/* "" when none was used */
	const char *debug_how;		/* "build-id" or ".gnu_debuglink" */
	int debug_fd;
	void *debug_elf;		/* Elf * */
	bool debug_has_symtab;
};

/* Called for every STT_FUNC / STT_GNU_IFUNC symbol of .symtab and
 * .dynsym; defined is false for imports (SHN_UNDEF).  Return non-zero to
 * stop the walk with that value. */
typedef int (*elf_sym_fn)(const char *name, uint64_t addr, uint64_t size,
			  bool defined, void *arg);

/* Open and index path.  0, -ENOEXEC (not ELF, truncated, or a header,
 * section or loaded segment outside the file), -errno. */
int elf_open(struct elf_file *f, const char *path);
void elf_close(struct elf_file *f);

/* File offset of a virtual address through the PT_LOAD that maps it
 * from the file: 0 or -ENOENT. */
int elf_vaddr_to_offset(const struct elf_file *f, uint64_t vaddr,
			uint64_t *offset);

/* Walk the function symbols once; returns what fn returned, or 0. */
int elf_symbols(const struct elf_file *f, elf_sym_fn fn, void *arg);

/* Does the program import (SHN_UNDEF in .dynsym) or define a symbol whose
 * name starts with prefix? */
bool elf_imports_prefix(const struct elf_file *f, const char *prefix);
bool elf_defines_prefix(const struct elf_file *f, const char *prefix);

/* Does the file contain these bytes anywhere (e.g. "rocksdb" in the
 * strings of a stripped binary)? */
bool elf_contains(const struct elf_file *f, const char *needle);

/* Is this a shared library rather than an executable (ET_DYN without an
 * interpreter)? */
bool elf_is_library(const struct elf_file *f);

/* Does demangling mangled give a name starting with prefix?  Only
 * Itanium C++ names (_Z...) can match. */
bool cxx_prefix_match(const char *mangled, const char *prefix);

/* The demangled name (malloc'd), or NULL. */
char *cxx_demangle(const char *mangled);

/* Does the demangled name start with prefix, and is it the function
 * itself (not a clone, a lambda, a local class or a static's guard)? */
bool cxx_demangled_match(const char *demangled, const char *prefix);

/* Where the symbols of f come from: its debug file's path, or its own. */
const char *elf_symbols_source(const struct elf_file *f);

/* The mangled nested-name fragment every match of a demangled prefix like
 * "rocksdb::DBImpl::GetImpl(" contains ("7rocksdb6DBImpl7GetImpl");
 * a cheap filter before demangling.  0 or -ENOSPC. */
int cxx_prefix_needle(const char *prefix, char *out, size_t len);

#endif
