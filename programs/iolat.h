/* Types shared by iolat.bpf.c and ckb-iolat.  Fixed-width only. */
#ifndef CKBTRACE_IOLAT_H
#define CKBTRACE_IOLAT_H

#include <linux/types.h>

/* Syscall ids; tools/ckb-iolat.c names them, in this order. */
#define IO_FSYNC 0
#define IO_FDATASYNC 1
#define IO_SYNC_FILE_RANGE 2
#define IO_PREAD64 3
#define IO_PWRITE64 4
#define IO_PREADV 5
#define IO_PWRITEV 6
#define IO_PREADV2 7
#define IO_PWRITEV2 8
#define IO_READ 9
#define IO_WRITE 10
#define IO_OPENAT 11
#define IO_CLOSE 12
#define IO_NSYS 13

/* Syscalls whose positive return value counts bytes. */
#define IO_BYTES_MASK ((1u << IO_PREAD64) | (1u << IO_PWRITE64) |	\
		       (1u << IO_PREADV) | (1u << IO_PWRITEV) |	\
		       (1u << IO_PREADV2) | (1u << IO_PWRITEV2) |	\
		       (1u << IO_READ) | (1u << IO_WRITE))

#define IO_NO_FD 0xffffffffu	/* an openat that failed */

/* The aggregation key: thread name and syscall, or with -F the file as
 * (fd, generation): the generation of an fd grows each time the fd is
 * closed (or replaced by dup2/dup3), so a reused fd number is another
 * key. */
struct io_key {
	char comm[16];
	__u32 sys;
	__u32 fd;
	__u32 gen;
	__u32 pad;
};

/* The name an openat gave (fd, generation). */
struct io_fdkey {
	__u32 fd;
	__u32 gen;
};

#define IO_PATH_LEN 256

struct io_fdname {
	__s32 dfd;		/* the directory fd a relative name is under */
	__u32 pad;
	char path[IO_PATH_LEN];
};

/* Counters of what could not be timed. */
#define IO_DROP_START_FULL 0	/* a call found the in-flight map full */
#define IO_DROP_COUNT 1

#endif
