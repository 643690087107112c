/* A cache of compiled BPF programs, so that a tool started again on the
 * same host loads in milliseconds instead of running LLVM.  An entry holds
 * the bytecode BCC produced and the maps it declared; loading it creates
 * fresh maps, points the bytecode at them and loads it through the kernel
 * verifier like any program.  Entries live in $CKBTRACE_CACHE_DIR or
 * /var/cache/ckbtrace, are used only when the directory and the file
 * belong to this user and nobody else can write them, and are skipped
 * with CKBTRACE_NO_CACHE set. */
#ifndef CKBTRACE_BPFCACHE_H
#define CKBTRACE_BPFCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "compile.h"

#define CACHE_NAME_LEN 64

struct cache_map {
	char name[CACHE_NAME_LEN];
	uint32_t type, key_size, value_size, max_entries, flags;
	int32_t fd;		/* the fd the bytecode refers to */
};

struct cache_prog {
	char name[CACHE_NAME_LEN];
	uint32_t ninsns;
	const uint64_t *insns;	/* struct bpf_insn, 8 bytes each */
};

/* The cache file for this build: 0, or -ENOENT when caching is off or the
 * directory is not safe to use. */
int bpfcache_path(const struct bpf_build *b, char *path, size_t len);

/* Write an entry atomically.  0 or -errno. */
int bpfcache_write(const char *path, const struct cache_map *maps, int nmaps,
		   const struct cache_prog *progs, int nprogs,
		   const char *license, uint32_t kern_version,
		   int attach_type);

/* Load b's programs and maps from the entry at path.  0 with the fds
 * filled, -ENOENT when there is no usable entry, or -errno; on failure
 * nothing is left open. */
int bpfcache_load(const char *path, const struct bpf_build *b, int *prog_fds,
		  int *map_fds);

#endif
