/* Types shared by rdblat.bpf.c and user space.  Fixed-width only. */
#ifndef CKBTRACE_RDBLAT_H
#define CKBTRACE_RDBLAT_H

#include "hist.h"

/* Operation ids; the user-space catalog (src/catalog.c) names them. */
#define OP_GET 0
#define OP_TXN_GET 1
#define OP_TXN_GET_FOR_UPDATE 2
#define OP_PUT 3
#define OP_TXN_PUT 4
#define OP_DELETE 5
#define OP_TXN_DELETE 6
#define OP_WRITE 7
#define OP_TXN_COMMIT 8
#define OP_TXN_ROLLBACK 9
#define OP_ITER 10
#define OP_ITER_SEEK 11
#define OP_ITER_NEXT 12
#define OP_INGEST 13
#define OP_FLUSH 14
#define OP_COMPACTION 15
#define OP_STALL_DELAY 16
#define OP_STALL_STOP 17
#define OP_COUNT 18

/* How an operation ended, where the probes can tell. */
#define OUT_NONE 0	/* no result to read (iterators, a C API call
			 * without an error pointer) */
#define OUT_OK 1	/* a read that found its key, a write that worked */
#define OUT_MISS 2	/* a read that did not find its key */
#define OUT_ERROR 3	/* an error came back */

/* Per-operation aggregate, one per CPU; user space sums the CPUs and
 * takes differences between polls. */
struct op_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 bytes;
	__u64 bytes_known;	/* operations whose bytes are known */
	__u64 outcome[4];	/* by OUT_* */
	__u64 items;		/* INGEST: files; ITER_NEXT: keys read */
	__u64 slot[HIST_NBUCKETS];
};

/* Counters of what the BPF side could not account for. */
#define DROP_START_FULL 0    /* entry not recorded: in-flight map full */
#define DROP_NO_START 1      /* return without a recorded entry */
#define DROP_PENDING_FULL 2  /* txn/batch byte tally map full */
#define DROP_COUNT 3

#endif
