/* USDT (SystemTap SDT) probes of an ELF file: the .note.stapsdt notes,
 * their locations and semaphores as file offsets, and their x86-64
 * argument specs. */
#ifndef CKBTRACE_USDT_H
#define CKBTRACE_USDT_H

#include <stdint.h>

#include "elfsym.h"

enum usdt_arg_kind {
	USDT_ARG_CONST,		/* $5: val */
	USDT_ARG_REG,		/* %rdi: reg */
	USDT_ARG_MEM,		/* -8(%rbp): reg and val (the offset) */
	USDT_ARG_UNSUPPORTED,	/* rip-relative, index registers, ... */
};

struct usdt_arg {
	enum usdt_arg_kind kind;
	int size;		/* bytes, negative = signed */
	int reg;		/* pt_regs index (offsetof / 8), -1 for none */
	int64_t val;		/* constant, or memory offset */
	char spec[32];		/* the text as in the note */
};

#define USDT_MAX_ARGS 12

struct usdt_note {
	char provider[64];
	char name[64];
	uint64_t pc, base, semaphore;	/* as in the note (link-time vaddrs) */
	uint64_t pc_offset, sem_offset;	/* file offsets; sem_offset 0: none */
	int nargs;
	struct usdt_arg args[USDT_MAX_ARGS];
	char argspec[256];
};

/* Return non-zero to stop the walk. */
typedef int (*usdt_fn)(const struct usdt_note *n, void *arg);

/* Walk every USDT note of f; count of notes (up to the one fn stopped
 * at), or -errno.  pc is already adjusted for .stapsdt.base; pc_offset
 * is 0 when no PT_LOAD maps pc. */
int usdt_notes(const struct elf_file *f, usdt_fn fn, void *arg);

/* The 64-bit name ("rdi") of a pt_regs index, "?" when unknown. */
const char *usdt_reg_name(int reg);

/* One x86-64 argument spec such as "-4@-20(%rbp)".  0, or -EINVAL when
 * it is not of the form [SIZE@]OPERAND; an operand that cannot be read
 * from registers and the stack alone (rip-relative, indexed, symbolic)
 * parses as USDT_ARG_UNSUPPORTED. */
int usdt_arg_parse(const char *spec, struct usdt_arg *a);

/* Split a note's space-separated argument specs into args (max entries);
 * count, or -E2BIG.  A malformed spec becomes USDT_ARG_UNSUPPORTED. */
int usdt_args_parse(const char *argspec, struct usdt_arg *args, int max);

#endif
