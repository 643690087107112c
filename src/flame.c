#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"

/* Generated at build time from the npm packages (contrib/flame/embed.sh). */
extern const char flame_renderer_js[];
extern const char flame_renderer_name[];
extern const char flame_page_template[];

struct node {
	uint32_t parent, child, last, next;	/* 0: none (node 0 is the root) */
	uint32_t name;				/* offset into the pool */
	uint8_t kind;
	uint64_t self, total;
};

struct flame {
	struct node *nodes;
	uint32_t n, cap;
	char *pool;
	size_t used, pcap;
	uint32_t *index;	/* open addressing by (parent, name): node id */
	uint32_t icap;		/* a power of two, at most half full */
	size_t stacks;
};

static const char *const kind_names[FLAME_NKINDS] = {
	[FLAME_OTHER] = "other",
	[FLAME_KERNEL] = "kernel",
	[FLAME_PROGRAM] = "program",
	[FLAME_ROCKSDB] = "rocksdb",
	[FLAME_LIB] = "lib",
};

const char *flame_kind_name(enum flame_kind k)
{
	return k < FLAME_NKINDS ? kind_names[k] : "other";
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool is_rocksdb_name(const char *s, size_t n)
{
	const char *sp, *paren;

	if ((n >= 9 && memcmp(s, "rocksdb::", 9) == 0) ||
	    (n >= 8 && memcmp(s, "rocksdb_", 8) == 0))
		return true;
	/* a function template's demangled name starts with its return type */
	sp = memchr(s, ' ', n);
	paren = memchr(s, '(', n);
	return sp && (!paren || sp < paren) && (size_t)(s + n - sp) > 10 &&
	       memcmp(sp + 1, "rocksdb::", 9) == 0;
}

/* The module of "name (module)": its offset, or 0 when there is none. */
static size_t module_at(const char *s, size_t n)
{
	size_t i;

	if (n < 4 || s[n - 1] != ')')
		return 0;
	for (i = n - 1; i > 0; i--) {
		if (s[i - 1] == '(')
			break;
		if (s[i - 1] == ')' || s[i - 1] == ' ')
			return 0;
	}
	if (i < 3 || i == n - 1 || s[i - 2] != ' ')
		return 0;
	return i;
}

static enum flame_kind kind_of(const char *s, size_t n)
{
	size_t m = module_at(s, n), mlen;
	const char *mod;

	if (ends_with(s, n, "_[k]"))
		return FLAME_KERNEL;
	if (!m)
		return is_rocksdb_name(s, n) ? FLAME_ROCKSDB : FLAME_OTHER;
	mod = s + m;
	mlen = n - m - 1;
	if (is_rocksdb_name(s, m - 2) ||
	    (mlen >= 10 && memcmp(mod, "librocksdb", 10) == 0))
		return FLAME_ROCKSDB;
	if (ends_with(mod, mlen, ".so") || memmem(mod, mlen, ".so.", 4))
		return FLAME_LIB;
	if (mlen == 1 && mod[0] == '?')
		return FLAME_OTHER;
	return FLAME_PROGRAM;
}

enum flame_kind flame_kind_of(const char *frame)
{
	return kind_of(frame, strlen(frame));
}

/* Copy n bytes of s into buf at *at, ';' -> ':' and control characters
 * -> '?', space and parentheses -> '_' when strict. */
static void put_clean(char *buf, size_t len, size_t *at, const char *s,
		      size_t n, bool strict)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < n && *at + 1 < len; i++) {
		c = (unsigned char)s[i];
		if (c == ';')
			c = ':';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		else if (strict && (c == ' ' || c == '(' || c == ')'))
			c = '_';
		buf[(*at)++] = (char)c;
	}
	if (len)
		buf[*at < len ? *at : len - 1] = '\0';
}

/* Length of sym without a trailing "+0x<hex>". */
static size_t without_offset(const char *sym)
{
	size_t n = strlen(sym), i = n;

	while (i > 0 && strchr("0123456789abcdefABCDEF", sym[i - 1]))
		i--;
	if (i < n && i >= 3 && sym[i - 1] == 'x' && sym[i - 2] == '0' &&
	    sym[i - 3] == '+')
		return i - 3;
	return n;
}

static size_t frame_of(char *buf, size_t len, const char *sym,
		       const char *module, const char *suffix)
{
	size_t at = 0, n = without_offset(sym);

	if (!len)
		return 0;
	buf[0] = '\0';
	put_clean(buf, len, &at, n ? sym : "[unknown]", n ? n : 9, false);
	if (module && *module) {
		put_clean(buf, len, &at, " (", 2, false);
		put_clean(buf, len, &at, module, strlen(module), true);
		put_clean(buf, len, &at, ")", 1, false);
	}
	if (suffix)
		put_clean(buf, len, &at, suffix, strlen(suffix), false);
	return at;
}

size_t flame_frame_user(char *buf, size_t len, const char *sym,
			const char *module)
{
	return frame_of(buf, len, sym, module, NULL);
}

size_t flame_frame_kernel(char *buf, size_t len, const char *sym)
{
	return frame_of(buf, len, sym, NULL, "_[k]");
}

size_t flame_frame_label(char *buf, size_t len, const char *text)
{
	size_t at = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	put_clean(buf, len, &at, *text ? text : "?", *text ? strlen(text) : 1,
		  false);
	return at;
}

struct flame *flame_new(void)
{
	struct flame *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->cap = 256;
	f->nodes = calloc(f->cap, sizeof(*f->nodes));
	f->pcap = 4096;
	f->pool = malloc(f->pcap);
	f->icap = 512;
	f->index = calloc(f->icap, sizeof(*f->index));
	if (!f->nodes || !f->pool || !f->index) {
		flame_free(f);
		return NULL;
	}
	memcpy(f->pool, "all", 4);
	f->used = 4;
	f->n = 1;
	return f;
}

void flame_free(struct flame *f)
{
	if (!f)
		return;
	free(f->nodes);
	free(f->pool);
	free(f->index);
	free(f);
}

static uint32_t hash_of(uint32_t parent, const char *name, size_t n)
{
	uint32_t h = 2166136261u ^ parent * 2654435761u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h;
}

static int index_grow(struct flame *f)
{
	uint32_t cap = f->icap * 2, *index, i, h;
	const struct node *nd;

	index = calloc(cap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (i = 1; i < f->n; i++) {
		nd = &f->nodes[i];
		h = hash_of(nd->parent, f->pool + nd->name,
			    strlen(f->pool + nd->name)) & (cap - 1);
		while (index[h])
			h = (h + 1) & (cap - 1);
		index[h] = i;
	}
	free(f->index);
	f->index = index;
	f->icap = cap;
	return 0;
}

/* The child of parent named name[0..n), created if need be; 0 if no
 * memory. */
static uint32_t child_of(struct flame *f, uint32_t parent, const char *name,
			 size_t n)
{
	uint32_t h = hash_of(parent, name, n) & (f->icap - 1), id;
	struct node *nd;
	const char *s;

	for (; (id = f->index[h]); h = (h + 1) & (f->icap - 1)) {
		nd = &f->nodes[id];
		s = f->pool + nd->name;
		if (nd->parent == parent && strncmp(s, name, n) == 0 && !s[n])
			return id;
	}
	if (2 * f->n > f->icap) {
		if (index_grow(f) != 0)
			return 0;
		h = hash_of(parent, name, n) & (f->icap - 1);
		while (f->index[h])
			h = (h + 1) & (f->icap - 1);
	}
	if (f->n == f->cap) {
		if (f->cap > UINT32_MAX / 4)
			return 0;
		nd = realloc(f->nodes, 2 * (size_t)f->cap * sizeof(*nd));
		if (!nd)
			return 0;
		f->nodes = nd;
		f->cap *= 2;
	}
	if (f->used + n + 1 > f->pcap) {
		size_t cap = f->pcap;
		char *p;

		while (f->used + n + 1 > cap)
			cap *= 2;
		if (cap > UINT32_MAX || !(p = realloc(f->pool, cap)))
			return 0;
		f->pool = p;
		f->pcap = cap;
	}
	id = f->n++;
	nd = &f->nodes[id];
	memset(nd, 0, sizeof(*nd));
	nd->parent = parent;
	nd->name = (uint32_t)f->used;
	memcpy(f->pool + f->used, name, n);
	f->pool[f->used + n] = '\0';
	f->used += n + 1;
	nd->kind = (uint8_t)kind_of(name, n);
	if (f->nodes[parent].last)
		f->nodes[f->nodes[parent].last].next = id;
	else
		f->nodes[parent].child = id;
	f->nodes[parent].last = id;
	f->index[h] = id;
	return id;
}

static bool frame_ok(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == ';' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void add_value(struct flame *f, uint32_t leaf, uint64_t value)
{
	uint32_t id = leaf;

	if (!f->nodes[leaf].self && value)
		f->stacks++;
	f->nodes[leaf].self += value;
	for (;;) {
		f->nodes[id].total += value;
		if (!id)
			break;
		id = f->nodes[id].parent;
	}
}

int flame_add(struct flame *f, const char *const *frames, size_t n,
	      uint64_t value)
{
	uint32_t id = 0;
	size_t i;

	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!frame_ok(frames[i], strlen(frames[i])))
			return -EINVAL;
	for (i = 0; i < n; i++)
		if (!(id = child_of(f, id, frames[i], strlen(frames[i]))))
			return -ENOMEM;
	add_value(f, id, value);
	return 0;
}

int flame_add_folded(struct flame *f, const char *line, const char **why)
{
	size_t n = strlen(line), k, start, i;
	const char *w = NULL;
	uint32_t id = 0;
	uint64_t value = 0;

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (!n)
		return -ENODATA;
	for (k = n; k > 0 && line[k - 1] != ' ' && line[k - 1] != '\t'; k--)
		;
	if (k == 0 || k == n) {
		w = "no count at the end of the line";
		goto bad;
	}
	for (i = k; i < n; i++) {
		if (line[i] < '0' || line[i] > '9') {
			w = "the count is not a whole number";
			goto bad;
		}
		if (value > (FLAME_VALUE_MAX - (uint64_t)(line[i] - '0')) / 10) {
			w = "the count is larger than 2^53 - 1";
			goto bad;
		}
		value = value * 10 + (uint64_t)(line[i] - '0');
	}
	while (k > 0 && (line[k - 1] == ' ' || line[k - 1] == '\t'))
		k--;
	if (!k) {
		w = "no stack before the count";
		goto bad;
	}
	for (start = 0, i = 0; i <= k; i++) {
		if (i < k && line[i] != ';') {
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
				w = "a control character in a frame";
				goto bad;
			}
			continue;
		}
		if (i == start) {
			w = "an empty frame";
			goto bad;
		}
		start = i + 1;
	}
	for (start = 0, i = 0; i <= k; i++) {
		if (i < k && line[i] != ';')
			continue;
		if (!(id = child_of(f, id, line + start, i - start)))
			return -ENOMEM;
		start = i + 1;
	}
	add_value(f, id, value);
	return 0;
bad:
	if (why)
		*why = w;
	return -EINVAL;
}

int flame_read(struct flame *f, FILE *in, unsigned long *lineno,
	       const char **why)
{
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	*lineno = 0;
	errno = 0;
	while (getline(&line, &cap, in) >= 0) {
		++*lineno;
		err = flame_add_folded(f, line, why);
		if (err == -ENODATA)
			err = 0;
		if (err)
			goto out;
	}
	if (ferror(in))
		err = errno ? -errno : -EIO;
out:
	free(line);
	return err;
}

uint64_t flame_total(const struct flame *f)
{
	return f->nodes[0].total;
}

size_t flame_stacks(const struct flame *f)
{
	return f->stacks;
}

/* The next node of a depth-first walk from id, or 0 at the end. */
static uint32_t walk_next(const struct flame *f, uint32_t id)
{
	if (f->nodes[id].child)
		return f->nodes[id].child;
	while (id && !f->nodes[id].next)
		id = f->nodes[id].parent;
	return id ? f->nodes[id].next : 0;
}

/* 0, or -errno of the write to out that failed: the last one stdio
 * made, which set errno (-EIO when none did). */
static int out_errno(FILE *out)
{
	if (!ferror(out)) {
		errno = 0;
		if (fflush(out) == 0)
			return 0;
	}
	return errno ? -errno : -EIO;
}

int flame_write_folded(const struct flame *f, FILE *out)
{
	uint32_t id, up, *path = NULL, *p;
	size_t depth, cap = 0;

	for (id = walk_next(f, 0); id; id = walk_next(f, id)) {
		if (!f->nodes[id].self)
			continue;
		for (depth = 0, up = id; up; up = f->nodes[up].parent) {
			if (depth == cap) {
				cap = cap ? 2 * cap : 128;
				if (!(p = realloc(path, cap * sizeof(*p)))) {
					free(path);
					return -ENOMEM;
				}
				path = p;
			}
			path[depth++] = up;
		}
		while (depth--)
			fprintf(out, "%s%s", f->pool + f->nodes[path[depth]].name,
				depth ? ";" : "");
		fprintf(out, " %llu\n", (unsigned long long)f->nodes[id].self);
	}
	free(path);
	return out_errno(out);
}

/* A JSON string that is also safe inside an HTML <script> element. */
static void json_str(FILE *out, const char *s)
{
	unsigned char c;

	fputc('"', out);
	for (; (c = (unsigned char)*s); s++) {
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' ||
			 c == '&')
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void html_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

static void put_node(const struct flame *f, FILE *out, uint32_t id)
{
	const struct node *nd = &f->nodes[id];

	fputs("{\"n\":", out);
	json_str(out, f->pool + nd->name);
	fprintf(out, ",\"v\":%llu,\"l\":\"%s\"", (unsigned long long)nd->total,
		kind_names[nd->kind]);
}

static void put_tree(const struct flame *f, FILE *out)
{
	uint32_t id = 0;

	for (;;) {
		put_node(f, out, id);
		if (f->nodes[id].child) {
			fputs(",\"c\":[", out);
			id = f->nodes[id].child;
			continue;
		}
		fputc('}', out);
		while (id && !f->nodes[id].next) {
			id = f->nodes[id].parent;
			fputs("]}", out);
		}
		if (!id)
			break;
		fputc(',', out);
		id = f->nodes[id].next;
	}
}

/* Each stack's value goes to the kind of its innermost frame that is not
 * "other" (the leaf of ckb-slowops' stacks is the operation's name). */
static void kind_shares(const struct flame *f, uint64_t *by_kind)
{
	uint32_t id, up;

	memset(by_kind, 0, FLAME_NKINDS * sizeof(*by_kind));
	for (id = 1; id < f->n; id++) {
		if (!f->nodes[id].self)
			continue;
		for (up = id; up && f->nodes[up].kind == FLAME_OTHER;
		     up = f->nodes[up].parent)
			;
		by_kind[up ? f->nodes[up].kind : FLAME_OTHER] +=
			f->nodes[id].self;
	}
}

static void put_data(const struct flame *f, FILE *out,
		     const struct flame_page *page)
{
	uint64_t by_kind[FLAME_NKINDS];
	int k;

	kind_shares(f, by_kind);
	fputs("{\"title\":", out);
	json_str(out, page->title);
	fputs(",\"unit\":", out);
	json_str(out, page->unit);
	fputs(",\"note\":", out);
	json_str(out, page->note ? page->note : "");
	fprintf(out, ",\"stacks\":%zu,\"kinds\":{", f->stacks);
	for (k = 0; k < FLAME_NKINDS; k++)
		fprintf(out, "%s\"%s\":%llu", k ? "," : "", kind_names[k],
			(unsigned long long)by_kind[k]);
	fputs("},\"tree\":", out);
	put_tree(f, out);
	fputc('}', out);
}

int flame_write_html(const struct flame *f, FILE *out,
		     const struct flame_page *page)
{
	const char *t = flame_page_template, *at, *end;
	size_t n;

	while ((at = strstr(t, "@@"))) {
		fwrite(t, 1, (size_t)(at - t), out);
		end = strstr(at + 2, "@@");
		if (!end)
			return -EINVAL;
		n = (size_t)(end - at - 2);
		if (n == 5 && memcmp(at + 2, "TITLE", 5) == 0)
			html_text(out, page->title);
		else if (n == 8 && memcmp(at + 2, "RENDERER", 8) == 0)
			fputs(flame_renderer_js, out);
		else if (n == 9 && memcmp(at + 2, "GENERATOR", 9) == 0)
			html_text(out, flame_renderer_name);
		else if (n == 4 && memcmp(at + 2, "DATA", 4) == 0)
			put_data(f, out, page);
		else
			return -EINVAL;
		t = end + 2;
	}
	fputs(t, out);
	return out_errno(out);
}
