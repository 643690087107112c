/* What every parsed USDT argument must satisfy, shared by the two USDT
 * harnesses. */
#ifndef CKBTRACE_FUZZ_USDT_CHECK_H
#define CKBTRACE_FUZZ_USDT_CHECK_H

#include <inttypes.h>
#include <string.h>

#include "memfile.h"
#include "usdt.h"

static int valid_size(int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8 ||
	       size == -1 || size == -2 || size == -4 || size == -8;
}

/* A supported operand prints back to a spec that parses to the same
 * argument. */
static void check_arg(const struct usdt_arg *a)
{
	struct usdt_arg b;
	char spec[96];

	FUZZ_ASSERT(memchr(a->spec, '\0', sizeof(a->spec)));
	switch (a->kind) {
	case USDT_ARG_UNSUPPORTED:
		FUZZ_ASSERT(a->reg == -1);
		return;
	case USDT_ARG_CONST:
		FUZZ_ASSERT(a->reg == -1);
		snprintf(spec, sizeof(spec), "%d@$%" PRId64, a->size, a->val);
		break;
	case USDT_ARG_REG:
		FUZZ_ASSERT(strcmp(usdt_reg_name(a->reg), "?") != 0);
		snprintf(spec, sizeof(spec), "%d@%%%s", a->size,
			 usdt_reg_name(a->reg));
		break;
	case USDT_ARG_MEM:
		FUZZ_ASSERT(strcmp(usdt_reg_name(a->reg), "?") != 0);
		snprintf(spec, sizeof(spec), "%d@%" PRId64 "(%%%s)", a->size,
			 a->val, usdt_reg_name(a->reg));
		break;
	default:
		FUZZ_ASSERT(!"unknown argument kind");
	}
	FUZZ_ASSERT(valid_size(a->size));
	if (strlen(spec) >= sizeof(b.spec))
		return;
	FUZZ_ASSERT(usdt_arg_parse(spec, &b) == 0);
	FUZZ_ASSERT(b.kind == a->kind && b.size == a->size &&
		    b.reg == a->reg && b.val == a->val);
}

#endif
