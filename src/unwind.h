/* User stacks from a copy: the registers and the top of the user stack
 * that a probe or a sample took, unwound later in this process through
 * the target's CFI (.eh_frame, .debug_frame) with elfutils' libdwfl.
 * Nothing is read from the traced process at unwind time but
 * /proc/PID/maps and the ELF files it maps (through /proc/PID/root).
 *
 * x86-64 only.  A caller (ckb-slowops, ckb-profile) does:
 *
 *	struct unwinder *u = unwinder_new(0);
 *	struct unwind_frame f[64];
 *	enum unwind_end end;
 *	int n = unwind_stack(u, pid, tid, regs, stack, len, UNWIND_AT_RETURN,
 *			     f, 64, &end);
 *	... f[0..n) innermost first; end says why the walk stopped ...
 *	unwinder_free(u);
 *
 * Per-process state (the maps and one Dwfl whose modules hold the parsed
 * CFI) is cached and bounded: at most max_procs processes, the least
 * recently used dropped first.  Not thread-safe: one unwinder per thread. */
#ifndef CKBTRACE_UNWIND_H
#define CKBTRACE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* x86-64 DWARF register numbers: rax rdx rcx rbx rsi rdi rbp rsp r8..r15,
 * then rip (16), the return address column. */
#define UNWIND_NREGS 17
#define UNWIND_REG_RBP 6
#define UNWIND_REG_RSP 7
#define UNWIND_REG_RIP 16

/* Why a walk stopped.  UNWIND_OK is the only complete stack. */
enum unwind_end {
	UNWIND_OK,		/* reached the outermost frame */
	UNWIND_TRUNCATED,	/* needed stack above the copy: deeper than
				 * the bytes copied */
	UNWIND_NO_CFI,		/* a frame's code has no CFI (.eh_frame or
				 * .debug_frame) */
	UNWIND_ANON,		/* a frame in anonymous or special memory:
				 * JIT code, [vdso], [heap] */
	UNWIND_UNMAPPED,	/* a frame in no mapping of the process now:
				 * its library was unmapped (or the file
				 * cannot be opened) since the copy */
	UNWIND_TRAMPOLINE,	/* a return address replaced by a pending
				 * uretprobe ([uprobes]) */
	UNWIND_DEPTH,		/* more frames than the caller asked for */
	UNWIND_GONE,		/* the process exited: no maps to read */
	UNWIND_BAD,		/* the CFI led to no valid caller */
	UNWIND_NEND
};

/* Flags of unwind_stack. */
#define UNWIND_AT_RETURN 1	/* regs were taken at a return (uretprobe):
				 * rip is a return address too */

/* One frame, innermost first. */
struct unwind_frame {
	uint64_t pc;		/* the instruction, or the return address */
	bool ret_addr;		/* pc follows a call: look it up as pc - 1 */
};

/* Counters kept across calls, for a summary. */
struct unwind_stats {
	uint64_t stacks;		/* unwind_stack calls */
	uint64_t frames;		/* frames returned */
	uint64_t ends[UNWIND_NEND];	/* stacks by how they ended */
	uint64_t procs_loaded;		/* per-process states built */
	uint64_t procs_dropped;		/* ... dropped to stay in bounds */
};

struct unwinder;

/* A new unwinder keeping state for at most max_procs processes (0: 16).
 * NULL when out of memory. */
struct unwinder *unwinder_new(int max_procs);
void unwinder_free(struct unwinder *u);

/* Unwind the thread tid of process pid from regs (UNWIND_NREGS values in
 * DWARF order) and len bytes of its stack copied from regs[UNWIND_REG_RSP]
 * up.  Fills frames[0..max) innermost first, frames[0].pc being rip, and
 * *end with why the walk stopped.  The number of frames (>= 1), or
 * -EINVAL (max < 1). */
int unwind_stack(struct unwinder *u, pid_t pid, pid_t tid,
		 const uint64_t *regs, const void *stack, size_t len,
		 int flags, struct unwind_frame *frames, int max,
		 enum unwind_end *end);

/* Read pid's maps and open its modules now, so that its first stack
 * does not wait for it.  0 or -ESRCH. */
int unwind_prepare(struct unwinder *u, pid_t pid);

/* Drop what is cached for pid (it exited, or exec'd). */
void unwind_forget(struct unwinder *u, pid_t pid);

/* The counters since unwinder_new. */
void unwind_get_stats(const struct unwinder *u, struct unwind_stats *st);

/* A short fixed name for end ("ok", "truncated", "no_cfi", "anon",
 * "unmapped", "trampoline", "depth", "gone", "bad"). */
const char *unwind_end_name(enum unwind_end end);

/* What an ELF file offers an unwinder. */
struct unwind_elf_info {
	bool has_eh_frame;	/* .eh_frame with content */
	bool has_debug_frame;	/* .debug_frame */
	int checked;		/* functions whose prologue was read */
	int with_fp;		/* ... that set up a frame pointer */
};

/* Read path's CFI sections and the prologues of up to 2000 of its own
 * functions (RocksDB's and the C++ library's templates left out when
 * others exist): does its code keep frame pointers?  0 or -errno. */
int unwind_elf_info(const char *path, struct unwind_elf_info *info);

/* From that: should stacks of this binary be unwound through CFI (auto)?
 * True when it has CFI and fewer than half its checked functions keep a
 * frame pointer. */
bool unwind_elf_wants_dwarf(const struct unwind_elf_info *info);

#endif
