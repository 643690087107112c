/* Types shared by usdt.bpf.c and ckb-usdt.  Fixed-width only. */
#ifndef CKBTRACE_USDT_BPF_H
#define CKBTRACE_USDT_BPF_H

#define USDT_SLOTS 64		/* locations: programs usdt_0 .. usdt_63 */
#define USDT_NARGS 12		/* arguments a note can carry */
#define USDT_STRLEN 64		/* bytes read of a string, NUL included */

/* How an argument is read (struct usdt_argspec.kind). */
#define USDT_K_NONE 0		/* cannot be read: reported unavailable */
#define USDT_K_CONST 1		/* val */
#define USDT_K_REG 2		/* pt_regs slot reg */
#define USDT_K_MEM 3		/* size bytes at register reg + val */

struct usdt_argspec {
	__s64 val;
	__s8 size;		/* 1, 2, 4, 8; negative = signed */
	__u8 kind;
	__u8 reg;		/* pt_regs index: offsetof(pt_regs, x) / 8 */
	__u8 str;		/* the value points to a C string to read */
	__u32 pad;
};

/* One probe location; user space fills slot i before attaching usdt_<i>. */
struct usdt_spec {
	__u32 nargs;
	__u32 pad;
	struct usdt_argspec arg[USDT_NARGS];
};

/* One firing (-a): values sign- or zero-extended to 64 bits. */
struct usdt_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u32 pid, tid;
	__u32 slot;
	__u32 bad;		/* bit i: argument i could not be read */
	__u64 arg[USDT_NARGS];
	char str[USDT_NARGS][USDT_STRLEN];
};

#endif
