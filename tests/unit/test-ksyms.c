/* Kernel symbols: one pass names every queued address, whatever the order
 * of the file; data symbols, far addresses and hidden tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksyms.h"
#include "tap.h"

static char dir[] = "/tmp/test-ksyms.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static void is(const struct ksyms *k, uint64_t addr, const char *name,
	       uint64_t off)
{
	uint64_t got_off;
	const char *got = ksyms_name(k, addr, &got_off);

	ok(strcmp(got, name) == 0 && got_off == off,
	   "0x%llx is %s+0x%llx (got %s+0x%llx)", (unsigned long long)addr,
	   name, (unsigned long long)off, got, (unsigned long long)got_off);
}

int main(void)
{
	/* core text sorted, a data symbol between, modules out of order,
	 * as /proc/kallsyms has them */
	static const char table[] =
		"ffffffff81000000 T _stext\n"
		"ffffffff81001000 T schedule\n"
		"ffffffff81001080 t __schedule\n"
		"ffffffff81001800 D some_data\n"
		"ffffffff81002000 W weak_fn\n"
		"ffffffff81003000 T do_nanosleep\n"
		"ffffffffc0100000 t mod_fn_b\t[mod_b]\n"
		"ffffffffc0000000 t mod_fn_a\t[mod_a]\n"
		"ffffffffc0000400 t mod_fn_a2\t[mod_a]\n";
	static const char zeros[] =
		"0000000000000000 T _stext\n"
		"0000000000000000 T schedule\n";
	struct ksyms *k;
	const char *path;
	uint64_t off;

	if (!mkdtemp(dir))
		return 99;
	path = write_file("kallsyms", table);
	k = ksyms_new(path);
	ok(k != NULL, "a resolver");
	ksyms_want(k, 0xffffffff81001040);
	ksyms_want(k, 0xffffffff81001900);	/* after data: still __schedule */
	ksyms_want(k, 0xffffffff81003010);
	ksyms_want(k, 0xffffffffc0000410);
	ksyms_want(k, 0xffffffffc0100020);
	ksyms_want(k, 0xffffffff81001040);	/* twice */
	ksyms_want(k, 0xffffffff80000000);	/* below every symbol */
	ksyms_want(k, 0xffffffff83003000);	/* 32 MB past the last one */
	ok(ksyms_resolve(k) == 0, "one pass resolves");
	is(k, 0xffffffff81001040, "schedule", 0x40);
	is(k, 0xffffffff81001900, "__schedule", 0x880);
	is(k, 0xffffffff81003010, "do_nanosleep", 0x10);
	is(k, 0xffffffffc0000410, "mod_fn_a2", 0x10);
	is(k, 0xffffffffc0100020, "mod_fn_b", 0x20);
	is(k, 0xffffffff80000000, "[unknown]", 0);
	is(k, 0xffffffff83003000, "[unknown]", 0);
	is(k, 0xffffffff81002004, "[unknown]", 0);	/* never asked */
	/* a second round reads again only for the new address */
	ksyms_want(k, 0xffffffff81002004);
	ksyms_want(k, 0xffffffff81001040);
	ok(ksyms_resolve(k) == 0, "a second pass");
	is(k, 0xffffffff81002004, "weak_fn", 4);
	is(k, 0xffffffff81001040, "schedule", 0x40);
	ksyms_free(k);

	path = write_file("zeros", zeros);
	k = ksyms_new(path);
	ksyms_want(k, 0xffffffff81001040);
	ok(ksyms_resolve(k) == -EPERM, "a table of zeros (not root) is -EPERM");
	ok(strcmp(ksyms_name(k, 0xffffffff81001040, &off), "[unknown]") == 0,
	   "and names nothing");
	ksyms_free(k);

	k = ksyms_new("/nonexistent/kallsyms");
	ksyms_want(k, 1);
	ok(ksyms_resolve(k) == -ENOENT, "a missing file is -ENOENT");
	ksyms_free(k);

	k = ksyms_new(NULL);
	ok(ksyms_resolve(k) == 0, "nothing queued: nothing read");
	ksyms_free(k);

	unlink(write_file("kallsyms", ""));
	unlink(write_file("zeros", ""));
	rmdir(dir);
	return done_testing();
}
