/* Types shared by rdblat.bpf.c and user space.  Fixed-width only. */
#ifndef CKBTRACE_RDBLAT_H
#define CKBTRACE_RDBLAT_H

#include "hist.h"

/* Operation ids; the user-space catalog (src/catalog.c) names them. */
#define OP_GET 0
#define OP_TXN_GET 1
#define OP_PUT 2
#define OP_TXN_PUT 3
#define OP_DELETE 4
#define OP_TXN_DELETE 5
#define OP_WRITE 6
#define OP_TXN_COMMIT 7
#define OP_ITER 8
#define OP_FLUSH 9
#define OP_COMPACTION 10
#define OP_STALL 11
#define OP_COUNT 12

/* Per-operation aggregate, one per CPU; user space sums the CPUs and
 * takes differences between polls. */
struct op_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 bytes;
	__u64 bytes_known;
	__u64 slot[HIST_NBUCKETS];
};

/* Counters of what the BPF side could not account for. */
#define DROP_START_FULL 0    /* entry not recorded: in-flight map full */
#define DROP_NO_START 1      /* return without a recorded entry */
#define DROP_PENDING_FULL 2  /* txn/batch byte tally map full */
#define DROP_COUNT 3

#endif
