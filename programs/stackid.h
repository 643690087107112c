/* Stack ids in keys, shared by the BPF texts that take stacks and by
 * src/stacks.c.  A key's stack id is either an id of the stack map
 * (>= 0) or why there is no stack: bpf_get_stackid()'s -errno (-EFAULT:
 * no stack to walk, -EEXIST: its bucket held another stack, -ENOMEM: the
 * map was full) or STACKID_NOT_TAKEN. */
#ifndef CKBTRACE_STACKID_H
#define CKBTRACE_STACKID_H

#define STACKID_NOT_TAKEN (-2)	/* the tool was told not to (-U, -K) */

#endif
