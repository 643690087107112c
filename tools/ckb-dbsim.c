/* ckb-dbsim: a workload shaped like a CKB node's RocksDB database.
 *
 * The demo and test target of the ckbtrace tracers.  RocksDB is used only
 * through its C API and is linked statically, so the rocksdb_* entry points
 * sit in .symtab as they do in the ckb binary.  The workload is
 * deterministic for a given --seed and block count, and every rocksdb_* call
 * it makes is counted so that a tracer's figures can be checked exactly.
 *
 * Signals are blocked in every thread (RocksDB's threads inherit the mask)
 * and taken synchronously with sigtimedwait() by the main thread between
 * blocks, so no handler ever runs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#ifdef DBSIM_REBUILT
/* The --follow tests' "upgraded node": the same workload with another
 * build-id, and every function linked after this one (RocksDB's included)
 * at another address, so that probes kept at the old offsets would miss. */
__attribute__((used, noinline)) void dbsim_rebuilt_pad(void)
{
	__asm__ volatile(".skip 12288, 0x90");
}
#endif

#define PROG "ckb-dbsim"
#define NUM_CF 20		/* "default" and "0".."18" */
#define CF(n) ((n) + 1)
#define CF_DEFAULT 0
#define HASH_LEN 32
#define CELL_KEY_LEN (HASH_LEN + 4)
#define NUM_KEY_LEN 8
#define VBUF_LEN 8192
#define SLOW_PREFIX "slow:"
#define SLOW_KEY_LEN 13		/* "slow:" + 8 digits */
#define SLOW_VALUE_LEN 100
#define NSEC 1000000000ULL

/* Every rocksdb_* function the workload calls, and whether it has a byte
 * rule in the "bytes" object of the counts. */
#define API_LIST(X)					\
	X(optimistictransaction_begin, 0)		\
	X(transaction_get_pinned_cf, 1)			\
	X(transaction_get_for_update_cf, 1)		\
	X(transaction_put_cf, 1)			\
	X(transaction_delete_cf, 1)			\
	X(transaction_create_iterator_cf, 0)		\
	X(transaction_commit, 0)			\
	X(transaction_rollback, 0)			\
	X(transaction_destroy, 0)			\
	X(create_snapshot, 0)				\
	X(readoptions_set_snapshot, 0)			\
	X(release_snapshot, 0)				\
	X(get_pinned, 1)				\
	X(get_pinned_cf, 1)				\
	X(get_cf, 1)					\
	X(pinnableslice_value, 0)			\
	X(pinnableslice_destroy, 0)			\
	X(free, 0)					\
	X(put_cf, 1)					\
	X(delete_cf, 1)					\
	X(writebatch_create, 0)				\
	X(writebatch_put_cf, 1)				\
	X(writebatch_delete_cf, 1)			\
	X(writebatch_delete_range_cf, 1)		\
	X(write, 0)					\
	X(writebatch_destroy, 0)			\
	X(create_iterator_cf, 0)			\
	X(iter_seek, 0)					\
	X(iter_seek_to_first, 0)			\
	X(iter_valid, 0)				\
	X(iter_next, 0)					\
	X(iter_get_error, 0)				\
	X(iter_destroy, 0)				\
	X(compact_range_cf, 0)				\
	X(merge_cf, 1)

enum api {
#define X(fn, b) API_##fn,
	API_LIST(X)
#undef X
	API_COUNT
};

static const char *const api_name[API_COUNT] = {
#define X(fn, b) "rocksdb_" #fn,
	API_LIST(X)
#undef X
};

static const bool api_has_bytes[API_COUNT] = {
#define X(fn, b) b,
	API_LIST(X)
#undef X
};

struct stats {
	uint64_t calls[API_COUNT];
	uint64_t bytes[API_COUNT];
	uint64_t commit_bytes;
	uint64_t write_bytes;
	uint64_t blocks;
};

static struct stats st;

#define CALL(fn, ...) (st.calls[API_##fn]++, rocksdb_##fn(__VA_ARGS__))
#define BYTES(fn, n) (st.bytes[API_##fn] += (n))
#define CHECK(fn, err) check(err, API_##fn)

struct config {
	uint64_t rate;
	uint64_t duration;
	uint64_t blocks;
	uint64_t seed;
	uint64_t compact_every;
	uint64_t write_buffer_kb;
	uint64_t slow;
	uint64_t slow_ms;
	uint64_t threads;
	const char *exec;
	const char *db;
	const char *counts;
	bool keep;
	bool wait;
	bool linger;
	bool no_auto_compaction;
	bool quiet;
};

struct sim {
	struct config cfg;
	char dir[PATH_MAX];
	bool tmpdir;
	bool stop;
	bool go;
	bool counts_failed;
	sigset_t sigs;
	uint64_t rng;
	uint64_t salt;
	uint64_t txn_bytes;
	uint64_t t_start;
	uint64_t t_end;
	rocksdb_options_t *opts;
	rocksdb_optimistictransactiondb_t *odb;
	rocksdb_t *db;
	rocksdb_column_family_handle_t *cf[NUM_CF];
	rocksdb_column_family_handle_t *slow_cf;
	uint32_t cf_id[NUM_CF + 1];	/* read at open: handles die at close */
	rocksdb_options_t *slow_opts;
	uint64_t slow_done;
	rocksdb_readoptions_t *ro;
	rocksdb_readoptions_t *snap_ro;
	rocksdb_writeoptions_t *wo;
	rocksdb_optimistictransaction_options_t *to;
	rocksdb_transaction_t *txn;
};

static char vbuf[VBUF_LEN];
static const char *cleanup_dir;

static const char *const tip_key = "tip";
static const char *const freezer_key = "freezer-tip";

enum key_domain { D_BLOCK = 1, D_TX, D_MISS };

static int rm_entry(const char *path, const struct stat *sb, int type,
		    struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, PROG ": cannot remove %s: %s\n", dir,
			strerror(errno));
}

/* RocksDB's threads may still run, so leave without exit()'s destructors. */
static void die_rocksdb(const char *fn, const char *err)
{
	fprintf(stderr, PROG ": %s: %s\n", fn, err);
	if (cleanup_dir)
		remove_tree(cleanup_dir);
	_exit(1);
}

static void check(char *err, enum api fn)
{
	if (err)
		die_rocksdb(api_name[fn], err);
}

/* ---- deterministic keys and sizes ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct sim *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_in(struct sim *s, uint64_t lo, uint64_t hi)
{
	return lo + rnd(s) % (hi - lo + 1);
}

static void put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static void put_be32(char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static void make_hash(const struct sim *s, char *out, enum key_domain d,
		      uint64_t n)
{
	uint64_t base = s->salt ^ ((uint64_t)d << 56);

	for (int i = 0; i < HASH_LEN / 8; i++)
		put_be64(out + 8 * i, mix(base ^ (n * 4 + (uint64_t)i)));
}

static void block_key(const struct sim *s, char *out, uint64_t b)
{
	make_hash(s, out, D_BLOCK, b);
}

static void tx_key(const struct sim *s, char *out, uint64_t b, uint32_t t)
{
	make_hash(s, out, D_TX, (b << 8) | t);
}

static void cell_key(const struct sim *s, char *out, uint64_t b, uint32_t t,
		     uint32_t idx)
{
	tx_key(s, out, b, t);
	put_be32(out + HASH_LEN, idx);
}

/* A block before b, at most span back; 0 (never written) for block 1. */
static uint64_t earlier(struct sim *s, uint64_t b, uint64_t span)
{
	uint64_t room = b - 1;

	if (room == 0)
		return 0;
	return b - 1 - rnd(s) % (room < span ? room : span);
}

static const char *value(struct sim *s, size_t len)
{
	return vbuf + rnd(s) % (VBUF_LEN - len + 1);
}

/* ---- reads ---- */

static size_t pinned_len(rocksdb_pinnableslice_t *v)
{
	size_t len = 0;

	if (!v)
		return 0;
	CALL(pinnableslice_value, v, &len);
	CALL(pinnableslice_destroy, v);
	return len;
}

static void txn_get(struct sim *s, int cf, const char *k, size_t klen)
{
	rocksdb_pinnableslice_t *v;
	char *err = NULL;

	v = CALL(transaction_get_pinned_cf, s->txn, s->ro, s->cf[cf], k, klen,
		 &err);
	CHECK(transaction_get_pinned_cf, err);
	BYTES(transaction_get_pinned_cf, pinned_len(v));
}

static void txn_get_for_update(struct sim *s, int cf, const char *k,
			       size_t klen)
{
	char *err = NULL, *v;
	size_t vlen = 0;

	v = CALL(transaction_get_for_update_cf, s->txn, s->ro, s->cf[cf], k,
		 klen, &vlen, 1, &err);
	CHECK(transaction_get_for_update_cf, err);
	if (!v)
		return;
	BYTES(transaction_get_for_update_cf, vlen);
	CALL(free, v);
}

static void db_get_pinned_cf(struct sim *s, const rocksdb_readoptions_t *ro,
			     int cf, const char *k, size_t klen)
{
	rocksdb_pinnableslice_t *v;
	char *err = NULL;

	v = CALL(get_pinned_cf, s->db, ro, s->cf[cf], k, klen, &err);
	CHECK(get_pinned_cf, err);
	BYTES(get_pinned_cf, pinned_len(v));
}

static void db_get_pinned(struct sim *s, const char *k, size_t klen)
{
	rocksdb_pinnableslice_t *v;
	char *err = NULL;

	v = CALL(get_pinned, s->db, s->ro, k, klen, &err);
	CHECK(get_pinned, err);
	BYTES(get_pinned, pinned_len(v));
}

static void db_get_cf(struct sim *s, int cf, const char *k, size_t klen)
{
	char *err = NULL, *v;
	size_t vlen = 0;

	v = CALL(get_cf, s->db, s->ro, s->cf[cf], k, klen, &vlen, &err);
	CHECK(get_cf, err);
	if (!v)
		return;
	BYTES(get_cf, vlen);
	CALL(free, v);
}

/* ---- the block transaction ---- */

static void txn_put(struct sim *s, int cf, const char *k, size_t klen,
		    size_t vlen)
{
	char *err = NULL;

	CALL(transaction_put_cf, s->txn, s->cf[cf], k, klen, value(s, vlen),
	     vlen, &err);
	CHECK(transaction_put_cf, err);
	BYTES(transaction_put_cf, klen + vlen);
	s->txn_bytes += klen + vlen;
}

static void txn_delete(struct sim *s, int cf, const char *k, size_t klen)
{
	char *err = NULL;

	CALL(transaction_delete_cf, s->txn, s->cf[cf], k, klen, &err);
	CHECK(transaction_delete_cf, err);
	BYTES(transaction_delete_cf, klen);
	s->txn_bytes += klen;
}

static void txn_reads(struct sim *s, uint64_t b)
{
	char k[CELL_KEY_LEN];
	int n = (int)rnd_in(s, 4, 6);

	for (int i = 0; i < n; i++) {
		switch (i % 4) {
		case 0:
			block_key(s, k, earlier(s, b, 256));
			txn_get(s, CF(1), k, HASH_LEN);
			break;
		case 1:
			block_key(s, k, b - 1);
			txn_get(s, CF(2), k, HASH_LEN);
			break;
		case 2:
			cell_key(s, k, earlier(s, b, 64), 0,
				 (uint32_t)rnd_in(s, 0, 2));
			txn_get(s, CF(5), k, CELL_KEY_LEN);
			break;
		default:
			make_hash(s, k, D_MISS, b * 8 + (uint64_t)i);
			txn_get(s, CF(3), k, HASH_LEN);
			break;
		}
	}
}

static void txn_lock_reads(struct sim *s, uint64_t b)
{
	char k[NUM_KEY_LEN];

	txn_get_for_update(s, CF(4), tip_key, strlen(tip_key));
	if (b % 2)
		return;
	put_be64(k, b / 64);
	txn_get_for_update(s, CF(8), k, NUM_KEY_LEN);
}

static void txn_put_txs(struct sim *s, uint64_t b)
{
	uint32_t ntx = (uint32_t)rnd_in(s, 1, 4);
	char k[CELL_KEY_LEN];

	for (uint32_t t = 0; t < ntx; t++) {
		uint32_t ncells = (uint32_t)rnd_in(s, 1, 3);

		tx_key(s, k, b, t);
		txn_put(s, CF(3), k, HASH_LEN, rnd_in(s, 64, 256));
		for (uint32_t i = 0; i < ncells; i++) {
			cell_key(s, k, b, t, i);
			txn_put(s, CF(5), k, CELL_KEY_LEN, rnd_in(s, 64, 160));
		}
	}
}

static void txn_writes(struct sim *s, uint64_t b)
{
	char k[HASH_LEN];

	block_key(s, k, b);
	txn_put(s, CF(1), k, HASH_LEN, rnd_in(s, 64, 1024));
	txn_put(s, CF(2), k, HASH_LEN, rnd_in(s, 256, 4096));
	txn_put(s, CF(6), k, HASH_LEN, rnd_in(s, 64, 128));
	txn_put_txs(s, b);
	put_be64(k, b);
	txn_put(s, CF(7), k, NUM_KEY_LEN, rnd_in(s, 64, 512));
	put_be64(k, b / 64);
	txn_put(s, CF(8), k, NUM_KEY_LEN, rnd_in(s, 64, 96));
	txn_put(s, CF(4), tip_key, strlen(tip_key), 64);
}

static void txn_spend(struct sim *s, uint64_t b)
{
	char k[CELL_KEY_LEN];
	int n = (int)rnd_in(s, 2, 3);

	for (int i = 0; i < n; i++) {
		cell_key(s, k, earlier(s, b, 64), (uint32_t)rnd_in(s, 0, 3),
			 (uint32_t)rnd_in(s, 0, 2));
		txn_delete(s, CF(5), k, CELL_KEY_LEN);
	}
}

static void finish_iter(rocksdb_iterator_t *it)
{
	char *err = NULL;

	CALL(iter_get_error, it, &err);
	CHECK(iter_get_error, err);
	CALL(iter_destroy, it);
}

static void txn_iterate(struct sim *s)
{
	rocksdb_iterator_t *it;

	it = CALL(transaction_create_iterator_cf, s->txn, s->ro, s->cf[CF(5)]);
	CALL(iter_seek_to_first, it);
	if (CALL(iter_valid, it))
		CALL(iter_next, it);
	finish_iter(it);
}

static void block_txn(struct sim *s, uint64_t b)
{
	char *err = NULL;

	s->txn = CALL(optimistictransaction_begin, s->odb, s->wo, s->to,
		      s->txn);
	s->txn_bytes = 0;
	txn_reads(s, b);
	txn_lock_reads(s, b);
	txn_writes(s, b);
	txn_spend(s, b);
	if (b % 20 == 0)
		txn_iterate(s);
	if (b % 50 == 0) {
		CALL(transaction_rollback, s->txn, &err);
		CHECK(transaction_rollback, err);
		return;
	}
	CALL(transaction_commit, s->txn, &err);
	CHECK(transaction_commit, err);
	st.commit_bytes += s->txn_bytes;
}

/* ---- work outside the transaction ---- */

static void snapshot_reads(struct sim *s, uint64_t b)
{
	const rocksdb_snapshot_t *snap;
	char k[HASH_LEN];

	snap = CALL(create_snapshot, s->db);
	CALL(readoptions_set_snapshot, s->snap_ro, snap);
	block_key(s, k, earlier(s, b, 1024));
	db_get_pinned_cf(s, s->snap_ro, CF(1), k, HASH_LEN);
	block_key(s, k, earlier(s, b, 16));
	db_get_pinned_cf(s, s->snap_ro, CF(6), k, HASH_LEN);
	CALL(release_snapshot, s->db, snap);
}

static void point_reads(struct sim *s, uint64_t b)
{
	char k[HASH_LEN];

	db_get_pinned(s, freezer_key, strlen(freezer_key));
	tx_key(s, k, earlier(s, b, 128), 0);
	db_get_cf(s, CF(3), k, HASH_LEN);
}

static void db_iterate(struct sim *s, uint64_t b)
{
	rocksdb_iterator_t *it;
	char k[HASH_LEN];

	block_key(s, k, earlier(s, b, 512));
	it = CALL(create_iterator_cf, s->db, s->ro, s->cf[CF(1)]);
	CALL(iter_seek, it, k, HASH_LEN);
	for (int i = 0; i < 5 && CALL(iter_valid, it); i++)
		CALL(iter_next, it);
	finish_iter(it);
}

static void epoch_write(struct sim *s, uint64_t b)
{
	char k[NUM_KEY_LEN], *err = NULL;
	size_t vlen = rnd_in(s, 64, 256);

	put_be64(k, b / 25);
	CALL(put_cf, s->db, s->wo, s->cf[CF(9)], k, NUM_KEY_LEN,
	     value(s, vlen), vlen, &err);
	CHECK(put_cf, err);
	BYTES(put_cf, NUM_KEY_LEN + vlen);
	put_be64(k, b / 25 - 4);
	CALL(delete_cf, s->db, s->wo, s->cf[CF(9)], k, NUM_KEY_LEN, &err);
	CHECK(delete_cf, err);
	BYTES(delete_cf, NUM_KEY_LEN);
}

static uint64_t batch_put(struct sim *s, rocksdb_writebatch_t *wb, int cf,
			  const char *k, size_t klen, size_t vlen)
{
	CALL(writebatch_put_cf, wb, s->cf[cf], k, klen, value(s, vlen), vlen);
	BYTES(writebatch_put_cf, klen + vlen);
	return klen + vlen;
}

static uint64_t batch_delete(struct sim *s, rocksdb_writebatch_t *wb, int cf,
			     const char *k, size_t klen)
{
	CALL(writebatch_delete_cf, wb, s->cf[cf], k, klen);
	BYTES(writebatch_delete_cf, klen);
	return klen;
}

static uint64_t batch_delete_range(struct sim *s, rocksdb_writebatch_t *wb,
				   int cf, uint64_t from, uint64_t to)
{
	char lo[NUM_KEY_LEN], hi[NUM_KEY_LEN];

	put_be64(lo, from);
	put_be64(hi, to);
	CALL(writebatch_delete_range_cf, wb, s->cf[cf], lo, NUM_KEY_LEN, hi,
	     NUM_KEY_LEN);
	BYTES(writebatch_delete_range_cf, 2 * NUM_KEY_LEN);
	return 2 * NUM_KEY_LEN;
}

/* Move blocks b-200..b-197 to the "freezer": index them in CF 10, drop
 * their headers and bodies, and range-delete proposal ids up to b-100. */
static void freezer_batch(struct sim *s, uint64_t b)
{
	uint64_t old = b > 200 ? b - 200 : 0, n = 0;
	char k[HASH_LEN], *err = NULL;
	rocksdb_writebatch_t *wb;

	wb = CALL(writebatch_create, );
	n += batch_put(s, wb, CF_DEFAULT, freezer_key, strlen(freezer_key), 64);
	for (uint64_t i = 0; i < 4; i++) {
		put_be64(k, old + i);
		n += batch_put(s, wb, CF(10), k, NUM_KEY_LEN,
			       rnd_in(s, 64, 512));
	}
	for (uint64_t i = 0; i < 2; i++) {
		block_key(s, k, old + i);
		n += batch_delete(s, wb, CF(1), k, HASH_LEN);
		n += batch_delete(s, wb, CF(2), k, HASH_LEN);
	}
	n += batch_delete_range(s, wb, CF(7), old, b - 99);
	CALL(write, s->db, s->wo, wb, &err);
	CHECK(write, err);
	st.write_bytes += n;
	CALL(writebatch_destroy, wb);
}

static void run_block(struct sim *s, uint64_t b)
{
	snapshot_reads(s, b);
	block_txn(s, b);
	if (b % 5 == 0)
		point_reads(s, b);
	if (b % 10 == 0)
		db_iterate(s, b);
	if (b % 25 == 0)
		epoch_write(s, b);
	if (b % 100 == 0)
		freezer_batch(s, b);
	if (s->cfg.compact_every && b % s->cfg.compact_every == 0)
		CALL(compact_range_cf, s->db, s->cf[CF(2)], NULL, 0, NULL, 0);
	st.blocks++;
}

/* ---- counts ---- */

static void count_log(const struct sim *s, uint64_t *flushes,
		      uint64_t *compactions)
{
	char path[PATH_MAX + 8], *line = NULL;
	size_t cap = 0;
	FILE *f;

	*flushes = 0;
	*compactions = 0;
	snprintf(path, sizeof(path), "%s/LOG", s->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (getline(&line, &cap, f) != -1) {
		if (strstr(line, "\"event\": \"flush_started\""))
			(*flushes)++;
		if (strstr(line, "\"event\": \"compaction_started\""))
			(*compactions)++;
	}
	free(line);
	fclose(f);
}

static void print_map(FILE *f, const char *name, const uint64_t *v,
		      bool bytes_only)
{
	bool first = true;

	fprintf(f, "\"%s\":{", name);
	for (int i = 0; i < API_COUNT; i++) {
		if (!st.calls[i] || (bytes_only && !api_has_bytes[i]))
			continue;
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", api_name[i],
			v[i]);
		first = false;
	}
	fputc('}', f);
}

static void print_cf_ids(const struct sim *s, FILE *f)
{
	fprintf(f, "\"cf_ids\":{\"default\":%u", s->cf_id[0]);
	for (int i = 1; i < NUM_CF; i++)
		fprintf(f, ",\"%d\":%u", i - 1, s->cf_id[i]);
	if (s->cfg.slow)
		fprintf(f, ",\"slow\":%u", s->cf_id[NUM_CF]);
	fputc('}', f);
}

static void print_counts(const struct sim *s, FILE *f)
{
	uint64_t flushes, compactions;

	count_log(s, &flushes, &compactions);
	fprintf(f, "{\"pid\":%d,\"blocks\":%" PRIu64 ",", (int)getpid(),
		st.blocks);
	print_map(f, "calls", st.calls, false);
	fputc(',', f);
	print_map(f, "bytes", st.bytes, true);
	fprintf(f, ",\"commit_bytes\":%" PRIu64 ",\"write_bytes\":%" PRIu64
		",\"log\":{\"flush_started\":%" PRIu64
		",\"compaction_started\":%" PRIu64 "},",
		st.commit_bytes, st.write_bytes, flushes, compactions);
	print_cf_ids(s, f);
	fprintf(f, ",\"slow\":{\"op\":\"GET\",\"count\":%" PRIu64
		",\"delay_ms\":%" PRIu64 ",\"key_len\":%d,\"value_len\":%d"
		",\"cf\":\"slow\"}}\n", s->slow_done, s->cfg.slow_ms,
		SLOW_KEY_LEN, SLOW_VALUE_LEN);
}

static void write_counts(struct sim *s)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int bad;

	if (!s->cfg.counts)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg.counts);
	f = fopen(tmp, "w");
	if (!f)
		goto fail;
	print_counts(s, f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad)
		goto fail;
	if (rename(tmp, s->cfg.counts) != 0)
		goto fail;
	return;
fail:
	fprintf(stderr, PROG ": cannot write %s: %s\n", s->cfg.counts,
		strerror(errno));
	s->counts_failed = true;
}

static uint64_t total_calls(void)
{
	uint64_t n = 0;

	for (int i = 0; i < API_COUNT; i++)
		n += st.calls[i];
	return n;
}

static void print_summary(const struct sim *s)
{
	double secs = (double)(s->t_end - s->t_start) / 1e9;
	uint64_t calls = total_calls();

	if (secs <= 0)
		secs = 1e-9;
	fprintf(stderr, PROG ": %" PRIu64 " blocks, %" PRIu64
		" calls in %.3f s (%.0f blocks/s, %.0f calls/s)\n",
		st.blocks, calls, secs, (double)st.blocks / secs,
		(double)calls / secs);
}

/* ---- signals and time ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void block_signals(struct sim *s)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	static const int sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGUSR2 };

	sigemptyset(&s->sigs);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&s->sigs, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &s->sigs, NULL);
}

static void on_signal(struct sim *s, int sig)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		s->stop = true;
		break;
	case SIGUSR1:
		s->go = true;
		break;
	case SIGUSR2:
		write_counts(s);
		break;
	}
}

/* Take signals until the deadline (0: forever, 1: just poll) or a stop. */
static void take_signals(struct sim *s, uint64_t deadline, const bool *until)
{
	struct timespec ts;
	uint64_t now, left;
	int sig;

	for (;;) {
		if (deadline == 0) {
			sig = sigwaitinfo(&s->sigs, NULL);
		} else {
			now = now_ns();
			left = deadline > now ? deadline - now : 0;
			ts.tv_sec = (time_t)(left / NSEC);
			ts.tv_nsec = (long)(left % NSEC);
			sig = sigtimedwait(&s->sigs, NULL, &ts);
		}
		if (sig > 0)
			on_signal(s, sig);
		else if (errno == EAGAIN)
			return;
		if (s->stop || (until && *until))
			return;
	}
}

/* ---- slow operations on purpose ---- */

/* The merge operator of the "slow" column family: RocksDB calls it inside
 * rocksdb_get_pinned_cf to fold a key's merge operand into a value, and it
 * sleeps there first when the key is marked.  One operand and no base value
 * per key: exactly one call per get. */
static uint64_t slow_sleep_ms;

static char *slow_full_merge(void *state, const char *key, size_t klen,
			     const char *base, size_t base_len,
			     const char *const *ops, const size_t *op_lens,
			     int nops, unsigned char *ok, size_t *len)
{
	struct timespec ts = { (time_t)(slow_sleep_ms / 1000),
			       (long)(slow_sleep_ms % 1000) * 1000000 };
	char *v = malloc(SLOW_VALUE_LEN);

	(void)state; (void)base; (void)base_len; (void)ops; (void)op_lens;
	(void)nops;
	if (klen >= strlen(SLOW_PREFIX) &&
	    memcmp(key, SLOW_PREFIX, strlen(SLOW_PREFIX)) == 0)
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	if (v)
		memset(v, 's', SLOW_VALUE_LEN);
	*ok = v != NULL;
	*len = v ? SLOW_VALUE_LEN : 0;
	return v;
}

static char *slow_partial_merge(void *state, const char *key, size_t klen,
				const char *const *ops, const size_t *op_lens,
				int nops, unsigned char *ok, size_t *len)
{
	(void)state; (void)key; (void)klen; (void)ops; (void)op_lens;
	(void)nops;
	*ok = 0;
	*len = 0;
	return NULL;
}

static void slow_delete_value(void *state, const char *v, size_t len)
{
	(void)state;
	(void)len;
	free((void *)v);
}

static void slow_merge_destroy(void *state)
{
	(void)state;
}

static const char *slow_merge_name(void *state)
{
	(void)state;
	return "ckb-dbsim-slow";
}

static __attribute__((noinline)) void slow_op(struct sim *s, uint64_t i)
{
	char key[SLOW_KEY_LEN + 1];
	char *err = NULL;

	snprintf(key, sizeof(key), SLOW_PREFIX "%08" PRIu64, i % 100000000);
	CALL(merge_cf, s->db, s->wo, s->slow_cf, key, SLOW_KEY_LEN, "x", 1,
	     &err);
	CHECK(merge_cf, err);
	BYTES(merge_cf, SLOW_KEY_LEN + 1);
	rocksdb_pinnableslice_t *v;

	v = CALL(get_pinned_cf, s->db, s->ro, s->slow_cf, key, SLOW_KEY_LEN,
		 &err);
	CHECK(get_pinned_cf, err);
	BYTES(get_pinned_cf, pinned_len(v));
	s->slow_done++;
}

/* ---- many threads ---- */

static pthread_barrier_t threads_go;

/* One get of a key no block writes, once every thread is up. */
static void *thread_get(void *arg)
{
	struct sim *s = arg;
	char key[32], *err = NULL;
	rocksdb_pinnableslice_t *v;
	int n;

	pthread_barrier_wait(&threads_go);
	n = snprintf(key, sizeof(key), "thread:%ld", (long)gettid());
	v = rocksdb_get_pinned_cf(s->db, s->ro, s->cf[CF(0)], key, (size_t)n,
				  &err);
	if (err || v)
		die_rocksdb("rocksdb_get_pinned_cf", err ? err : "key found");
	return NULL;
}

/* --threads N: N threads, all started before any of them reads, each
 * make one rocksdb_get_pinned_cf (of a missing key: no bytes). */
static void thread_gets(struct sim *s, uint64_t n)
{
	pthread_t *t = calloc(n, sizeof(*t));
	pthread_attr_t attr;
	uint64_t i;

	if (!t || pthread_barrier_init(&threads_go, NULL, (unsigned)n + 1) ||
	    pthread_attr_init(&attr) ||
	    pthread_attr_setstacksize(&attr, 256 << 10)) {
		fprintf(stderr, PROG ": cannot set up %" PRIu64 " threads\n", n);
		exit(1);
	}
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, thread_get, s) != 0) {
			fprintf(stderr, PROG ": thread %" PRIu64 ": %s\n", i,
				strerror(errno));
			_exit(1);
		}
	pthread_barrier_wait(&threads_go);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	st.calls[API_get_pinned_cf] += n;
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&threads_go);
	free(t);
}

/* ---- the workload ---- */

static bool time_is_up(uint64_t deadline)
{
	return deadline && now_ns() >= deadline;
}

static void run(struct sim *s)
{
	const struct config *c = &s->cfg;
	uint64_t deadline = 0, b;

	s->t_start = now_ns();
	if (c->duration)
		deadline = s->t_start + c->duration * NSEC;
	for (b = 1; !c->blocks || b <= c->blocks; b++) {
		uint64_t due = s->t_start;

		if (c->rate)
			due += (b - 1) * NSEC / c->rate;
		if (deadline && due > deadline)
			due = deadline;
		take_signals(s, due > now_ns() ? due : 1, NULL);
		if (s->stop || time_is_up(deadline))
			break;
		run_block(s, b);
	}
	for (uint64_t i = 0; i < c->slow && !s->stop; i++)
		slow_op(s, i);
	if (c->threads && !s->stop)
		thread_gets(s, c->threads);
	if (s->txn)
		CALL(transaction_destroy, s->txn);
	s->txn = NULL;
	s->t_end = now_ns();
}

/* ---- database setup ---- */

static void make_dir(struct sim *s)
{
	const char *tmp = getenv("TMPDIR");

	if (s->cfg.db) {
		snprintf(s->dir, sizeof(s->dir), "%s", s->cfg.db);
		return;
	}
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(s->dir, sizeof(s->dir), "%s/ckb-dbsim.XXXXXX", tmp);
	if (!mkdtemp(s->dir)) {
		fprintf(stderr, PROG ": mkdtemp %s: %s\n", s->dir,
			strerror(errno));
		exit(1);
	}
	s->tmpdir = true;
	if (!s->cfg.keep)
		cleanup_dir = s->dir;
}

static void open_db(struct sim *s)
{
	static char names[NUM_CF][4];
	const char *name_ptrs[NUM_CF + 1];
	const rocksdb_options_t *cf_opts[NUM_CF + 1];
	char *err = NULL;

	s->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opts, 1);
	rocksdb_options_set_create_missing_column_families(s->opts, 1);
	rocksdb_options_set_write_buffer_size(s->opts,
					      s->cfg.write_buffer_kb * 1024);
	if (s->cfg.no_auto_compaction)
		rocksdb_options_set_disable_auto_compactions(s->opts, 1);
	name_ptrs[0] = "default";
	cf_opts[0] = s->opts;
	for (int i = 1; i < NUM_CF; i++) {
		snprintf(names[i], sizeof(names[i]), "%d", i - 1);
		name_ptrs[i] = names[i];
		cf_opts[i] = s->opts;
	}
	rocksdb_column_family_handle_t *handles[NUM_CF + 1];
	int ncf = NUM_CF;

	if (s->cfg.slow) {
		slow_sleep_ms = s->cfg.slow_ms;
		s->slow_opts = rocksdb_options_create_copy(s->opts);
		rocksdb_options_set_merge_operator(s->slow_opts,
			rocksdb_mergeoperator_create(NULL, slow_merge_destroy,
				slow_full_merge, slow_partial_merge,
				slow_delete_value, slow_merge_name));
		name_ptrs[NUM_CF] = "slow";
		cf_opts[NUM_CF] = s->slow_opts;
		ncf++;
	}
	s->odb = rocksdb_optimistictransactiondb_open_column_families(
		s->opts, s->dir, ncf, name_ptrs, cf_opts, handles, &err);
	memcpy(s->cf, handles, sizeof(s->cf));
	s->slow_cf = s->cfg.slow ? handles[NUM_CF] : NULL;
	for (int i = 0; i < ncf && !err; i++)
		s->cf_id[i] = rocksdb_column_family_handle_get_id(handles[i]);
	if (err)
		die_rocksdb("rocksdb_optimistictransactiondb_open_column_families",
			    err);
	s->db = rocksdb_optimistictransactiondb_get_base_db(s->odb);
	s->ro = rocksdb_readoptions_create();
	s->snap_ro = rocksdb_readoptions_create();
	s->wo = rocksdb_writeoptions_create();
	s->to = rocksdb_optimistictransaction_options_create();
}

static void close_db(struct sim *s)
{
	for (int i = 0; i < NUM_CF; i++)
		rocksdb_column_family_handle_destroy(s->cf[i]);
	if (s->slow_cf)
		rocksdb_column_family_handle_destroy(s->slow_cf);
	rocksdb_optimistictransactiondb_close_base_db(s->db);
	rocksdb_optimistictransactiondb_close(s->odb);
	rocksdb_optimistictransaction_options_destroy(s->to);
	rocksdb_writeoptions_destroy(s->wo);
	rocksdb_readoptions_destroy(s->snap_ro);
	rocksdb_readoptions_destroy(s->ro);
	rocksdb_options_destroy(s->opts);
	if (s->slow_opts)
		rocksdb_options_destroy(s->slow_opts);
}

static void init_values(struct sim *s)
{
	for (size_t i = 0; i < VBUF_LEN; i += 8)
		put_be64(vbuf + i, rnd(s));
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options]\n"
"A RocksDB workload shaped like a CKB node's database (C API, static).\n"
"\n"
"  -r, --rate N            blocks per second, 0 = unthrottled (100)\n"
"  -d, --duration SEC      stop after SEC seconds (0 = no limit)\n"
"  -n, --blocks N          stop after N blocks (0 = no limit); with -d 0 and\n"
"                          -n 0, run until SIGINT/SIGTERM\n"
"      --db DIR            database directory, kept at exit (default: a\n"
"                          fresh directory under $TMPDIR or /tmp, removed)\n"
"      --keep              keep the fresh database directory at exit\n"
"      --counts FILE       write call counts as JSON to FILE (via FILE.tmp)\n"
"                          when the workload ends, at exit, and on SIGUSR2\n"
"      --wait              print \"ready <pid>\" once the database is open,\n"
"                          and start only on SIGUSR1\n"
"      --linger            after the workload, keep the database open until\n"
"                          SIGINT/SIGTERM\n"
"      --seed N            PRNG seed (1)\n"
"      --compact-every N   compact column family \"2\" every N blocks\n"
"                          (500, 0 = never)\n"
"      --write-buffer KB   memtable size per column family (256)\n"
"      --no-auto-compaction  disable automatic compactions\n"
"      --slow K            after the blocks, make K gets that take at least\n"
"                          --slow-ms each: a merge operator of column\n"
"                          family \"slow\" sleeps inside rocksdb_get_pinned_cf\n"
"      --slow-ms MS        delay of each slow get (20)\n"
"      --threads N         after the blocks, N threads, all started before\n"
"                          any reads, each make one rocksdb_get_pinned_cf\n"
"      --exec CMD          after the workload and its counts, close the\n"
"                          database and replace this process with\n"
"                          /bin/sh -c CMD (instead of --linger)\n"
"  -q, --quiet             no summary line\n"
"  -h, --help              this text\n"
"\n"
"Counts: \"calls\" holds every rocksdb_* function called by the workload,\n"
"housekeeping included (snapshots, readoptions_set_snapshot,\n"
"pinnableslice_value/destroy, free, iter_valid, iter_get_error); setup and\n"
"teardown (options, open, close, handles) are not counted.  \"bytes\": puts\n"
"key+value, deletes key, delete ranges both keys, gets the value returned.\n"
"\"commit_bytes\": put/delete bytes of committed transactions;\n"
"\"write_bytes\": bytes of the batches passed to rocksdb_write;\n"
"\"log\": flush_started/compaction_started events in DIR/LOG;\n"
"\"cf_ids\": column family ids by name; \"slow\": the slow gets made.\n");
}

static uint64_t parse_u64(const char *opt, const char *arg, uint64_t min,
			  uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, PROG ": invalid value for %s: '%s' (want an "
			"integer from %" PRIu64 " to %" PRIu64 ")\n",
			opt, arg, min, max);
		exit(2);
	}
	return v;
}

enum {
	O_DB = 256, O_KEEP, O_COUNTS, O_WAIT, O_LINGER, O_SEED,
	O_COMPACT_EVERY, O_WRITE_BUFFER, O_NO_AUTO, O_SLOW, O_SLOW_MS,
	O_THREADS, O_EXEC,
};

static const struct option long_opts[] = {
	{ "rate", required_argument, NULL, 'r' },
	{ "duration", required_argument, NULL, 'd' },
	{ "blocks", required_argument, NULL, 'n' },
	{ "db", required_argument, NULL, O_DB },
	{ "keep", no_argument, NULL, O_KEEP },
	{ "counts", required_argument, NULL, O_COUNTS },
	{ "wait", no_argument, NULL, O_WAIT },
	{ "linger", no_argument, NULL, O_LINGER },
	{ "seed", required_argument, NULL, O_SEED },
	{ "compact-every", required_argument, NULL, O_COMPACT_EVERY },
	{ "write-buffer", required_argument, NULL, O_WRITE_BUFFER },
	{ "no-auto-compaction", no_argument, NULL, O_NO_AUTO },
	{ "slow", required_argument, NULL, O_SLOW },
	{ "slow-ms", required_argument, NULL, O_SLOW_MS },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "exec", required_argument, NULL, O_EXEC },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse_opt(struct config *c, int opt, const char *arg)
{
	switch (opt) {
	case 'r':
		c->rate = parse_u64("--rate", arg, 0, 1000000);
		break;
	case 'd':
		c->duration = parse_u64("--duration", arg, 0, 1u << 30);
		break;
	case 'n':
		c->blocks = parse_u64("--blocks", arg, 0, UINT64_MAX / 2);
		break;
	case O_DB:
		c->db = arg;
		break;
	case O_KEEP:
		c->keep = true;
		break;
	case O_COUNTS:
		c->counts = arg;
		break;
	case O_WAIT:
		c->wait = true;
		break;
	case O_LINGER:
		c->linger = true;
		break;
	case O_SEED:
		c->seed = parse_u64("--seed", arg, 0, UINT64_MAX);
		break;
	case O_COMPACT_EVERY:
		c->compact_every = parse_u64("--compact-every", arg, 0,
					     UINT64_MAX);
		break;
	case O_WRITE_BUFFER:
		c->write_buffer_kb = parse_u64("--write-buffer", arg, 64,
					       1u << 20);
		break;
	case O_NO_AUTO:
		c->no_auto_compaction = true;
		break;
	case O_SLOW:
		c->slow = parse_u64("--slow", arg, 0, 1000000);
		break;
	case O_SLOW_MS:
		c->slow_ms = parse_u64("--slow-ms", arg, 1, 600000);
		break;
	case O_THREADS:
		c->threads = parse_u64("--threads", arg, 0, 10000);
		break;
	case O_EXEC:
		c->exec = arg;
		break;
	case 'q':
		c->quiet = true;
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		exit(2);
	}
}

static void parse_args(struct config *c, int argc, char **argv)
{
	int opt;

	*c = (struct config){
		.rate = 100, .seed = 1, .compact_every = 500,
		.write_buffer_kb = 256, .slow_ms = 20,
	};
	while ((opt = getopt_long(argc, argv, "r:d:n:qh", long_opts,
				  NULL)) != -1)
		parse_opt(c, opt, optarg);
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		exit(2);
	}
	if (c->db && !*c->db) {
		fprintf(stderr, PROG ": invalid value for --db: ''\n");
		exit(2);
	}
}

/* --exec: the database closed and the counts written, become sh -c CMD. */
static void exec_after(struct sim *s)
{
	close_db(s);
	write_counts(s);
	fflush(NULL);
	sigprocmask(SIG_UNBLOCK, &s->sigs, NULL);
	execl("/bin/sh", "sh", "-c", s->cfg.exec, (char *)NULL);
	fprintf(stderr, PROG ": cannot run /bin/sh: %s\n", strerror(errno));
	_exit(1);
}

int main(int argc, char **argv)
{
	static struct sim sim;
	struct sim *s = &sim;

	parse_args(&s->cfg, argc, argv);
	block_signals(s);
	s->salt = mix(s->cfg.seed);
	s->rng = mix(s->salt) | 1;
	init_values(s);
	make_dir(s);
	open_db(s);
	if (s->cfg.wait) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		take_signals(s, 0, &s->go);
	}
	if (!s->stop) {
		run(s);
		write_counts(s);
		if (!s->cfg.quiet)
			print_summary(s);
		if (s->cfg.exec && !s->stop)
			exec_after(s);
		if (s->cfg.linger && !s->stop)
			take_signals(s, 0, NULL);
	}
	close_db(s);
	write_counts(s);
	if (s->tmpdir && !s->cfg.keep)
		remove_tree(s->dir);
	else if (s->tmpdir && !s->cfg.quiet)
		fprintf(stderr, PROG ": database kept in %s\n", s->dir);
	return s->counts_failed ? 1 : 0;
}
