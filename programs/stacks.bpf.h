/* Stacks kept by content for the stack tools: take_stack() walks the
 * current user or kernel stack (bpf_get_stack: frame pointers for user
 * code), hashes its addresses and keeps them in stack_ips under that hash
 * unless they are there already.  The key it returns is the hash with
 * STACK_KEY_BIT, or STACK_NONE / STACK_FULL (stackid.h), each counted.
 * The including text may define STACK_ENTRIES (stacks kept at most). */
#ifndef CKBTRACE_STACKS_BPF_H
#define CKBTRACE_STACKS_BPF_H

#include "stackid.h"

#ifndef STACK_ENTRIES
#define STACK_ENTRIES 16384
#endif

BPF_PERCPU_ARRAY(stack_scratch, struct stack_ips, 1);
BPF_HASH(stack_ips, u64, struct stack_ips, STACK_ENTRIES);
BPF_PERCPU_ARRAY(stack_counts, u64, STACKC_COUNT);

static __always_inline void stack_count(u32 i)
{
	u64 *c = stack_counts.lookup(&i);

	if (c)
		(*c)++;
}

static __always_inline u64 take_stack(void *ctx, int user)
{
	u32 z = 0, i, n;
	struct stack_ips *s = stack_scratch.lookup(&z);
	u64 h = 14695981039346656037ULL;
	long bytes;

	if (!s)
		return STACK_NONE;
	bytes = bpf_get_stack(ctx, s->ip, sizeof(s->ip),
			      user ? BPF_F_USER_STACK : 0);
	if (bytes <= 0) {
		stack_count(user ? STACKC_USER_NONE : STACKC_KERNEL_NONE);
		return STACK_NONE;
	}
	n = (u32)bytes / 8;
	s->nr = n;
	/* a bounded loop: Linux 5.3 and later */
	for (i = 0; i < STACK_MAX_DEPTH; i++) {
		if (i >= n)
			break;
		h = (h ^ s->ip[i]) * 1099511628211ULL;
	}
	h = (h ^ (h >> 32) ^ n) | STACK_KEY_BIT;
	if (stack_ips.lookup(&h))
		return h;
	/* BPF_NOEXIST: another CPU may have kept it meanwhile */
	if (stack_ips.insert(&h, s) == 0) {
		stack_count(STACKC_KEPT);
		return h;
	}
	if (stack_ips.lookup(&h))
		return h;
	stack_count(user ? STACKC_USER_FULL : STACKC_KERNEL_FULL);
	return STACK_FULL;
}

#endif
