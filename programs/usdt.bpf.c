/* ckb-usdt: USDT probe firings, counted per location, and with EVENTS
 * each firing's arguments through a ring buffer.
 *
 * The text is fixed.  The traced process is a map value (target.bpf.h).
 * Parameters arrive as -D integers only:
 *   EVENTS         1: send every firing with its arguments (-a)
 *   RINGBUF_PAGES  pages of the ring buffer (a power of two)
 * How to read each argument of each location (kind, register, offset,
 * size, string or not) is data: the specs map, filled by user space.
 * Program usdt_<N> serves location N.
 *
 * Registers come from pt_regs through constant field reads into a
 * snapshot indexed like pt_regs; user memory only through
 * bpf_probe_read_user*; no kernel struct is read. */
#include <uapi/linux/ptrace.h>
#include "target.bpf.h"
#include "usdt.h"

#ifndef EVENTS
#define EVENTS 0
#endif
#ifndef RINGBUF_PAGES
#define RINGBUF_PAGES 256
#endif

BPF_PERCPU_ARRAY(counts, u64, USDT_SLOTS);
#if EVENTS
BPF_ARRAY(specs, struct usdt_spec, USDT_SLOTS);
BPF_PERCPU_ARRAY(lost, u64, 1);
BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
#endif

#define REGI(f) (__builtin_offsetof(struct pt_regs, f) / 8)
#define NREGS (REGI(sp) + 1)

/* The general registers at the probe, indexed like pt_regs, read with
 * constant offsets: the verifier refuses a variable offset into ctx, and
 * a switch of loads is folded by LLVM into just that. */
static __always_inline void regs_snapshot(struct pt_regs *ctx, u64 *r)
{
	r[REGI(r15)] = ctx->r15;
	r[REGI(r14)] = ctx->r14;
	r[REGI(r13)] = ctx->r13;
	r[REGI(r12)] = ctx->r12;
	r[REGI(bp)] = ctx->bp;
	r[REGI(bx)] = ctx->bx;
	r[REGI(r11)] = ctx->r11;
	r[REGI(r10)] = ctx->r10;
	r[REGI(r9)] = ctx->r9;
	r[REGI(r8)] = ctx->r8;
	r[REGI(ax)] = ctx->ax;
	r[REGI(cx)] = ctx->cx;
	r[REGI(dx)] = ctx->dx;
	r[REGI(si)] = ctx->si;
	r[REGI(di)] = ctx->di;
	r[REGI(sp)] = ctx->sp;
}

static __always_inline u64 narrow(u64 v, s8 size)
{
	switch (size) {
	case 1: return (u8)v;
	case -1: return (u64)(s64)(s8)v;
	case 2: return (u16)v;
	case -2: return (u64)(s64)(s16)v;
	case 4: return (u32)v;
	case -4: return (u64)(s64)(s32)v;
	}
	return v;
}

#if EVENTS
static __always_inline int arg_value(const u64 *r,
				     const struct usdt_argspec *a, u64 *out)
{
	u64 v, addr;
	u32 n;

	if (a->kind == USDT_K_CONST) {
		*out = (u64)a->val;
		return 0;
	}
	if (a->kind != USDT_K_REG && a->kind != USDT_K_MEM)
		return -1;
	if (a->reg >= NREGS)
		return -1;
	v = r[a->reg];
	if (a->kind == USDT_K_MEM) {
		addr = v + (u64)a->val;
		v = 0;
		n = a->size < 0 ? -a->size : a->size;
		if (n > 8)
			n = 8;
		if (bpf_probe_read_user(&v, n, (void *)addr) != 0)
			return -1;
	}
	*out = narrow(v, a->size);
	return 0;
}

static __always_inline void emit(struct pt_regs *ctx, u32 slot, u64 id)
{
	struct usdt_spec *s = specs.lookup(&slot);
	struct usdt_event *e;
	u64 r[NREGS] = {};
	u32 zero = 0, i;
	u64 *l;

	if (!s)
		return;
	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		l = lost.lookup(&zero);
		if (l)
			(*l)++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->slot = slot;
	e->bad = 0;
	regs_snapshot(ctx, r);
#pragma unroll
	for (i = 0; i < USDT_NARGS; i++) {
		e->arg[i] = 0;
		e->str[i][0] = 0;
		if (i >= s->nargs)
			continue;
		if (arg_value(r, &s->arg[i], &e->arg[i]) != 0) {
			e->bad |= 1u << i;
			continue;
		}
		if (s->arg[i].str &&
		    bpf_probe_read_user_str(e->str[i], USDT_STRLEN,
					    (void *)e->arg[i]) < 0)
			e->bad |= 1u << i;
	}
	events.ringbuf_submit(e, 0);
}
#endif

static __always_inline int fire(struct pt_regs *ctx, u32 slot)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 *c;

	if (!ours(id))
		return 0;
	c = counts.lookup(&slot);
	if (c)
		(*c)++;
#if EVENTS
	emit(ctx, slot, id);
#endif
	return 0;
}

#define HANDLER(n) \
	int usdt_##n(struct pt_regs *ctx) { return fire(ctx, n); }

HANDLER(0) HANDLER(1) HANDLER(2) HANDLER(3)
HANDLER(4) HANDLER(5) HANDLER(6) HANDLER(7)
HANDLER(8) HANDLER(9) HANDLER(10) HANDLER(11)
HANDLER(12) HANDLER(13) HANDLER(14) HANDLER(15)
HANDLER(16) HANDLER(17) HANDLER(18) HANDLER(19)
HANDLER(20) HANDLER(21) HANDLER(22) HANDLER(23)
HANDLER(24) HANDLER(25) HANDLER(26) HANDLER(27)
HANDLER(28) HANDLER(29) HANDLER(30) HANDLER(31)
HANDLER(32) HANDLER(33) HANDLER(34) HANDLER(35)
HANDLER(36) HANDLER(37) HANDLER(38) HANDLER(39)
HANDLER(40) HANDLER(41) HANDLER(42) HANDLER(43)
HANDLER(44) HANDLER(45) HANDLER(46) HANDLER(47)
HANDLER(48) HANDLER(49) HANDLER(50) HANDLER(51)
HANDLER(52) HANDLER(53) HANDLER(54) HANDLER(55)
HANDLER(56) HANDLER(57) HANDLER(58) HANDLER(59)
HANDLER(60) HANDLER(61) HANDLER(62) HANDLER(63)
