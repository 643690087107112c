/* Folded stacks: parsing, merging, the frame convention and the page. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "tap.h"

static char *folded(const struct flame *f)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&mem, &len);

	flame_write_folded(f, out);
	fclose(out);
	return mem;
}

static char *html(const struct flame *f, const struct flame_page *p)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&mem, &len);

	flame_write_html(f, out, p);
	fclose(out);
	return mem;
}

static void kind(const char *frame, enum flame_kind want)
{
	enum flame_kind got = flame_kind_of(frame);

	ok(got == want, "kind of '%s' is %s (got %s)", frame,
	   flame_kind_name(want), flame_kind_name(got));
}

static void bad(const char *line, const char *want_why)
{
	struct flame *f = flame_new();
	const char *why = NULL;
	int err = flame_add_folded(f, line, &why);

	ok(err == -EINVAL && why && strcmp(why, want_why) == 0 &&
	   flame_total(f) == 0,
	   "'%s' is refused: %s (got %d, %s)", line, want_why, err,
	   why ? why : "-");
	flame_free(f);
}

static void frames(void)
{
	char buf[128], tiny[8];

	flame_frame_user(buf, sizeof(buf), "slow_op.constprop.0+0xca",
			 "ckb-dbsim");
	ok(strcmp(buf, "slow_op.constprop.0 (ckb-dbsim)") == 0,
	   "user frame drops the offset and adds the module (%s)", buf);
	flame_frame_user(buf, sizeof(buf), "[unknown]", "libc.so.6");
	ok(strcmp(buf, "[unknown] (libc.so.6)") == 0, "unknown (%s)", buf);
	flame_frame_user(buf, sizeof(buf), "cafe+0x10", "my mod(1)");
	ok(strcmp(buf, "cafe (my_mod_1_)") == 0,
	   "hex-looking names keep their letters; a module loses spaces "
	   "and parentheses (%s)", buf);
	flame_frame_user(buf, sizeof(buf), "f<[u8; 32]>+0x1", NULL);
	ok(strcmp(buf, "f<[u8: 32]>") == 0, "';' becomes ':' (%s)", buf);
	flame_frame_kernel(buf, sizeof(buf), "do_nanosleep+0x5b");
	ok(strcmp(buf, "do_nanosleep_[k]") == 0, "kernel frame (%s)", buf);
	flame_frame_label(buf, sizeof(buf), "tokio;rt\n");
	ok(strcmp(buf, "tokio:rt?") == 0, "label cleaned (%s)", buf);
	flame_frame_label(buf, sizeof(buf), "");
	ok(strcmp(buf, "?") == 0, "empty label is '?'");
	ok(flame_frame_user(tiny, sizeof(tiny), "abcdefghij", "m") == 7 &&
	   strcmp(tiny, "abcdefg") == 0, "truncated to the buffer (%s)", tiny);
}

static void kinds(void)
{
	kind("do_nanosleep_[k]", FLAME_KERNEL);
	kind("slow_op (ckb-dbsim)", FLAME_PROGRAM);
	kind("ckb_chain::chain::ChainService::process_block (ckb)",
	     FLAME_PROGRAM);
	kind("rocksdb_get_pinned_cf (ckb-dbsim)", FLAME_ROCKSDB);
	kind("rocksdb::DBImpl::GetImpl(rocksdb::ReadOptions const&, "
	     "rocksdb::Slice const&) (ckb)", FLAME_ROCKSDB);
	kind("void rocksdb::autovector<int, 8ul>::emplace_back<int>(int&&) (ckb)",
	     FLAME_ROCKSDB);
	kind("std::vector<rocksdb::Slice>::push_back(rocksdb::Slice&&) (ckb)",
	     FLAME_PROGRAM);
	kind("rocksdb::Version::Get (librocksdb.so.7.8)", FLAME_ROCKSDB);
	kind("Get (librocksdb.so.7.8)", FLAME_ROCKSDB);
	kind("__libc_start_call_main (libc.so.6)", FLAME_LIB);
	kind("[unknown] (libc.so.6)", FLAME_LIB);
	kind("_dl_start_user (ld-linux-x86-64.so.2)", FLAME_LIB);
	kind("operator new(unsigned long) (libstdc++.so.6)", FLAME_LIB);
	kind("foo (libfoo.so)", FLAME_LIB);
	kind("[unknown] (?)", FLAME_OTHER);
	kind("GET", FLAME_OTHER);
	kind("ckb-dbsim", FLAME_OTHER);
	kind("(sd-pam)", FLAME_OTHER);
	kind("call(void (*)(int))", FLAME_OTHER);
	kind("rocksdb_put", FLAME_ROCKSDB);
	kind("x ()", FLAME_OTHER);
}

static void parsing(void)
{
	struct flame *f = flame_new();
	const char *why = NULL;
	char *text;

	ok(flame_add_folded(f, "a;b;c 10\n", &why) == 0, "a line is added");
	ok(flame_add_folded(f, "a;b 5\r\n", &why) == 0, "CRLF line");
	ok(flame_add_folded(f, "a;b;c 7", &why) == 0, "same stack again");
	ok(flame_add_folded(f, "a;x y (m);d\t3", &why) == 0,
	   "frames with spaces, tab before the count");
	ok(flame_add_folded(f, "z 0", &why) == 0, "a zero count");
	ok(flame_add_folded(f, "\n", &why) == -ENODATA, "an empty line");
	ok(flame_total(f) == 25, "total 25 (%llu)",
	   (unsigned long long)flame_total(f));
	ok(flame_stacks(f) == 3, "3 stacks with a value (%zu)",
	   flame_stacks(f));
	text = folded(f);
	ok(strcmp(text, "a;b 5\na;b;c 17\na;x y (m);d 3\n") == 0,
	   "folded back, merged, callers first");
	free(text);
	flame_free(f);

	bad("PID TID COMM OP", "the count is not a whole number");
	bad("12345", "no count at the end of the line");
	bad("a;b ", "no count at the end of the line");
	bad(" 12", "no stack before the count");
	bad("a;;b 1", "an empty frame");
	bad(";a 1", "an empty frame");
	bad("a; 1", "an empty frame");
	bad("a;b -3", "the count is not a whole number");
	bad("a;b 1.5", "the count is not a whole number");
	bad("a;b 9007199254740992", "the count is larger than 2^53 - 1");
	bad("a\x01;b 1", "a control character in a frame");
	bad("{\"type\":\"event\",\"lat_ns\": 5}", "the count is not a whole number");

	f = flame_new();
	ok(flame_add_folded(f, "a 9007199254740991", NULL) == 0,
	   "2^53 - 1 is taken");
	flame_free(f);
}

static void adding(void)
{
	struct flame *f = flame_new();
	const char *ok1[] = { "t", "main (p)", "GET" };
	const char *semi[] = { "t", "a;b" };
	const char *empty[] = { "t", "" };
	char name[32], *text;
	int i, fails = 0;

	ok(flame_add(f, ok1, 3, 4) == 0 && flame_add(f, ok1, 3, 6) == 0,
	   "flame_add twice");
	ok(flame_add(f, semi, 2, 1) == -EINVAL, "a frame with ';' refused");
	ok(flame_add(f, empty, 2, 1) == -EINVAL, "an empty frame refused");
	ok(flame_add(f, ok1, 0, 1) == -EINVAL, "no frames refused");
	text = folded(f);
	ok(strcmp(text, "t;main (p);GET 10\n") == 0, "one stack of 10");
	free(text);
	/* enough distinct frames to grow every table several times */
	for (i = 0; i < 20000; i++) {
		const char *st[] = { "root", name, "leaf" };

		snprintf(name, sizeof(name), "fn%d", i % 5000);
		if (flame_add(f, st, 3, 1) != 0)
			fails++;
	}
	ok(fails == 0 && flame_total(f) == 20010 && flame_stacks(f) == 5001,
	   "20000 adds over 5000 stacks (total %llu, stacks %zu)",
	   (unsigned long long)flame_total(f), flame_stacks(f));
	flame_free(f);
}

static void page(void)
{
	struct flame *f = flame_new();
	struct flame_page p = { "slow <ops> & \"more\"", "us of latency",
				"PID 7" };
	char *text;

	flame_add_folded(f, "t;</script><script>alert(1)</script> (m);GET 40",
			 NULL);
	flame_add_folded(f, "t;rocksdb_get (m);GET 60", NULL);
	flame_add_folded(f, "t;read_[k] 100", NULL);
	text = html(f, &p);
	ok(text && strncmp(text, "<!DOCTYPE html>", 15) == 0, "a page");
	ok(strstr(text, "<title>slow &lt;ops&gt; &amp; &quot;more&quot;</title>") != NULL,
	   "the title is escaped");
	ok(strstr(text, "alert(1)") && !strstr(text, "<script>alert"),
	   "a frame cannot close the data script");
	ok(strstr(text, "\"unit\":\"us of latency\"") != NULL, "the unit");
	ok(strstr(text, "\"kinds\":{\"other\":0,\"kernel\":100,\"program\":40,"
		  "\"rocksdb\":60,\"lib\":0}") != NULL,
	   "value by kind of the innermost function");
	ok(strstr(text, "{\"n\":\"all\",\"v\":200,\"l\":\"other\",\"c\":[{\"n\":\"t\",\"v\":200,") != NULL,
	   "the tree starts at all = 200");
	ok(strstr(text, "{\"n\":\"read_[k]\",\"v\":100,\"l\":\"kernel\"}") != NULL,
	   "a kernel leaf");
	ok(strstr(text, "d3-flame-graph") != NULL && !strstr(text, "@@"),
	   "the renderer is inlined, every marker replaced");
	ok(!strstr(text, "src=\"http") && !strstr(text, "href=\"http") &&
	   !strstr(text, "<link"), "nothing to fetch");
	free(text);
	flame_free(f);
}

int main(void)
{
	frames();
	kinds();
	parsing();
	adding();
	page();
	return done_testing();
}
