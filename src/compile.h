/* Compile BPF C text with libbcc, in a child process: the child
 * dlopen()s libbcc (and with it LLVM), compiles, hands back an image
 * (maps, bytecode, program types) and exits, so the caller never maps
 * LLVM.  Images are cached (bpfcache.h); one loader (bpfsys.h) serves a
 * fresh image and a cached one alike. */
#ifndef CKBTRACE_COMPILE_H
#define CKBTRACE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfsys.h"

/* One program to build: its function name in the text, its type
 * (BPF_PROG_TYPE_KPROBE for uprobes, _TRACEPOINT, _PERF_EVENT) and the
 * attach type the kernel must expect (-1: none). */
struct bpf_prog_req {
	const char *name;
	uint32_t type;
	int attach_type;
};

struct bpf_build {
	const char *text;
	const char *const *cflags;	/* "-DNAME=<integer>" only */
	int ncflags;
	const struct bpf_prog_req *progs;
	int nprogs;
	bool no_cache;			/* neither read nor write the cache */
};

/* Build b (from the cache when an entry matches) and load it into obj.
 * 0, or -errno with one line of explanation in err (for missing kernel
 * headers, -ENOENT and the remedy); the compiler's output is shown when
 * verbose is set.  A signal during the compile does not interrupt it. */
int bpf_build_load(const struct bpf_build *b, struct bpf_obj *obj, char *err,
		   size_t errlen);

/* Compile b into img without loading it: 0 or -errno with err set. */
int bpf_compile(const struct bpf_build *b, struct bpf_image *img, char *err,
		size_t errlen);

/* The kernel header tree BCC will compile against: 0, or -ENOENT with a
 * remedy in err. */
int kernel_headers_check(char *err, size_t errlen);

#endif
