/* libFuzzer harness: the x86-64 USDT argument-spec parser (src/usdt.c)
 * on any text, one spec and a note's whole space-separated list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "usdt-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usdt_arg args[USDT_MAX_ARGS], a;
	char *s;
	int n, i, rc;

	/* the parser reads C strings: what a note holds up to its NUL */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	rc = usdt_arg_parse(s, &a);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
	if (rc == -ENAMETOOLONG)
		FUZZ_ASSERT(strlen(s) >= sizeof(a.spec));
	if (rc == 0) {
		FUZZ_ASSERT(strcmp(a.spec, s) == 0);
		check_arg(&a);
	}

	n = usdt_args_parse(s, args, USDT_MAX_ARGS);
	FUZZ_ASSERT(n == -E2BIG || (n >= 0 && n <= USDT_MAX_ARGS));
	for (i = 0; i < n; i++)
		check_arg(&args[i]);
	/* a shorter array: the same answer up to its size */
	n = usdt_args_parse(s, args, 2);
	FUZZ_ASSERT(n == -E2BIG || (n >= 0 && n <= 2));
	free(s);
	return 0;
}
