/* libFuzzer harness: the ELF symbol reader (src/elfsym.c) on any bytes.
 * Every result is checked against what the input itself holds. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "elfsym.h"
#include "memfile.h"

/* Demangling is the slow part; a few hundred names per input reach every
 * path of cxx_prefix_match(). */
#define MAX_DEMANGLE 256

struct walk {
	const struct elf_file *f;
	int demangled;
	bool defines_rocksdb, imports_rocksdb;
};

static int on_symbol(const char *name, uint64_t addr, uint64_t size,
		     bool defined, void *arg)
{
	struct walk *w = arg;
	uint64_t off;
	char needle[64];
	int rc;

	(void)size;
	FUZZ_ASSERT(name[0] != '\0');
	if (strncmp(name, "rocksdb_", 8) == 0) {
		if (defined)
			w->defines_rocksdb = true;
		else
			w->imports_rocksdb = true;
	}
	if (elf_vaddr_to_offset(w->f, addr, &off) == 0)
		FUZZ_ASSERT(off < w->f->file_size);
	if (strncmp(name, "_Z", 2) == 0 && w->demangled < MAX_DEMANGLE) {
		w->demangled++;
		cxx_prefix_match(name, "rocksdb::DBImpl::GetImpl(");
		cxx_prefix_match(name, "rocksdb::");
	}
	/* any text as a demangled prefix: the needle fits or -ENOSPC */
	rc = cxx_prefix_needle(name, needle, sizeof(needle));
	FUZZ_ASSERT(rc == 0 || rc == -ENOSPC);
	if (rc == 0)
		FUZZ_ASSERT(strlen(needle) < sizeof(needle));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file f;
	struct walk w = { &f, 0, false, false };
	size_t i;
	int rc;

	rc = elf_open(&f, memfile(data, size));
	FUZZ_ASSERT(rc == 0 || rc == -ENOEXEC);
	if (rc)
		return 0;
	FUZZ_ASSERT(f.file_size == size);
	FUZZ_ASSERT(f.nloads >= 0 && f.nloads <= ELF_MAX_LOADS);
	FUZZ_ASSERT(strlen(f.build_id) % 2 == 0 && strlen(f.build_id) <= 40);
	for (i = 0; f.build_id[i]; i++)
		FUZZ_ASSERT(strchr("0123456789abcdef", f.build_id[i]));
	FUZZ_ASSERT(elf_symbols(&f, on_symbol, &w) == 0);
	FUZZ_ASSERT(elf_defines_prefix(&f, "rocksdb_") == w.defines_rocksdb);
	FUZZ_ASSERT(elf_imports_prefix(&f, "rocksdb_") == w.imports_rocksdb);
	FUZZ_ASSERT(elf_contains(&f, "rocksdb") ==
		    (memmem(data, size, "rocksdb", 7) != NULL));
	elf_is_library(&f);
	elf_close(&f);
	FUZZ_ASSERT(f.fd == -1 && f.elf == NULL);
	return 0;
}
