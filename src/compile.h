/* Compile BPF C text with libbcc and load it, in a child process: the
 * child dlopen()s libbcc (and with it LLVM), loads the programs, sends
 * the program and map fds back over a unix socket and exits, so the
 * caller never maps LLVM. */
#ifndef CKBTRACE_COMPILE_H
#define CKBTRACE_COMPILE_H

#include <stddef.h>

#define COMPILE_MAX_FDS 128

struct bpf_build {
	const char *text;
	const char *const *cflags;	/* "-DNAME=<integer>" only */
	int ncflags;
	const char *const *progs;	/* kprobe-type programs to load */
	int nprogs;
	const char *const *maps;
	int nmaps;
	int attach_type;		/* expected attach type, or -1 */
};

/* On success fills prog_fds[nprogs] and map_fds[nmaps] and returns 0.
 * On failure returns -errno and puts one line of explanation in err (for
 * missing kernel headers, -ENOENT and the remedy); the compiler's full
 * output is shown when verbose is set.  A signal during the compile does
 * not interrupt it. */
int bpf_build_load(const struct bpf_build *b, int *prog_fds, int *map_fds,
		   char *err, size_t errlen);

/* The kernel header tree BCC will compile against: 0, or -ENOENT with a
 * remedy in err. */
int kernel_headers_check(char *err, size_t errlen);

#endif
