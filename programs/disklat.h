/* Types shared by disklat.bpf.c and ckb-disklat.  Fixed-width only. */
#ifndef CKBTRACE_DISKLAT_H
#define CKBTRACE_DISKLAT_H

#include <linux/types.h>

#define DISK_RWBS_LEN 8

/* What a row measures. */
#define DISK_DEVICE 0		/* issue to completion: the device */
#define DISK_QUEUE 1		/* insert to issue: the I/O scheduler queue */

/* The aggregation key. */
struct disk_key {
	__u32 dev;		/* the kernel's dev_t: major << 20 | minor */
	__u32 what;		/* DISK_DEVICE or DISK_QUEUE */
	char rwbs[DISK_RWBS_LEN];
	char comm[16];		/* the issuing task, with -c; else "" */
};

/* Counters of what could not be matched or kept. */
#define DISK_UNMATCHED 0	/* a completion of a request never seen */
#define DISK_TRACK_FULL 1	/* a request found the in-flight map full */
#define DISK_EMPTY 2		/* completions without data that are not a
				 * flush: the write that asked for a flush,
				 * ended by the flush machinery, not issued */
#define DISK_DROP_COUNT 3

/* The sector a flush (a request without data) is kept under: the kernel
 * gives one sector at issue and another at completion. */
#define DISK_FLUSH_SECTOR 0xffffffffffffffffull

/* A request in flight, as the in-flight map holds it. */
struct disk_rq {
	__u32 dev;
	__u32 pad;
	__u64 sector;
};

#endif
