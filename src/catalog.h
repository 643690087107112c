/* The operations the tools measure and the symbols that carry them.
 * Data, not code: an operation or an entry point is one row. */
#ifndef CKBTRACE_CATALOG_H
#define CKBTRACE_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "elfsym.h"
#include "target.h"

enum layer {
	LAYER_CAPI,	/* rocksdb/c.h, exact name */
	LAYER_CXX,	/* C++ DBImpl entry points, demangled prefix */
	LAYER_BG,	/* background work, demangled prefix, always */
	LAYER_TALLY,	/* no timing: feeds transaction / batch byte counts */
};

struct op_info {
	const char *name;
	bool bytes;		/* carries a byte count (C API layer) */
	bool core;		/* must resolve on a CKB node */
	uint32_t needs;		/* other ops whose probes it depends on */
};

struct catalog_row {
	int op;
	enum layer layer;
	const char *symbol;	/* C name, or demangled prefix */
	const char *entry_fn;	/* BPF program at entry, or NULL */
	const char *return_fn;	/* BPF program at return, or NULL */
};

#define CATALOG_MAX_HITS 4

struct catalog_hit {
	const struct catalog_row *row;
	int file;		/* index into the resolution's files */
	int nsites;
	uint64_t addr[CATALOG_MAX_HITS];
	uint64_t offset[CATALOG_MAX_HITS];
	uint64_t size[CATALOG_MAX_HITS];
};

#define CATALOG_MAX_FILES (1 + TARGET_MAX_LIBS)

enum layer_choice {
	CHOOSE_CAPI,	/* the program calls the C API */
	CHOOSE_CXX,	/* the program is C++ and never calls the C API */
	CHOOSE_BOTH,	/* unknown (a library): both, deduplicated in BPF */
};

struct resolution {
	int nfiles;
	struct elf_file files[CATALOG_MAX_FILES];
	enum layer_choice choice;
	int nhits;
	struct catalog_hit *hits;	/* one per resolved row */
};

extern const struct op_info catalog_ops[];
extern const int catalog_nops;
extern const struct catalog_row catalog_rows[];
extern const int catalog_nrows;

/* Operation id by name (case-insensitive), or -1. */
int catalog_op_by_name(const char *name);

/* Parse "GET,TXN_GET" into a bit mask of op ids; 0 or -EINVAL with the
 * bad name copied to bad. */
int catalog_parse_ops(const char *list, uint32_t *mask, char *bad,
		      size_t badlen);

/* Add the ops the selected ones depend on (their probes feed bytes). */
uint32_t catalog_closure(uint32_t mask);

/* Open the target's ELF files, decide the layer, and resolve every row
 * whose op is in mask.  0, or -errno from opening the executable. */
int catalog_resolve(struct resolution *r, const struct target *t,
		    uint32_t mask);
void resolution_free(struct resolution *r);

/* Ops of mask with no resolved timing row. */
uint32_t resolution_missing(const struct resolution *r, uint32_t mask);

/* Does the choice attach this row? */
bool catalog_row_wanted(enum layer_choice c, const struct catalog_row *row);

const char *layer_choice_name(enum layer_choice c);

/* As catalog_resolve with every op, but every row of every layer is
 * resolved; r->choice is still the layer ckb-rdblat would attach. */
int catalog_resolve_all(struct resolution *r, const struct target *t);

#endif
