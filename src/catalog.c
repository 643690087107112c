#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../programs/rdblat.h"
#include "catalog.h"
#include "util.h"

#define BIT(op) (1u << (op))

const struct op_info catalog_ops[OP_COUNT] = {
	[OP_GET] = { "GET", true, true, 0 },
	[OP_TXN_GET] = { "TXN_GET", true, true, 0 },
	[OP_PUT] = { "PUT", true, false, 0 },
	[OP_TXN_PUT] = { "TXN_PUT", true, true, 0 },
	[OP_DELETE] = { "DELETE", true, false, 0 },
	[OP_TXN_DELETE] = { "TXN_DELETE", true, false, 0 },
	[OP_WRITE] = { "WRITE", true, true, 0 },
	[OP_TXN_COMMIT] = { "TXN_COMMIT", true, true,
			    BIT(OP_TXN_PUT) | BIT(OP_TXN_DELETE) },
	[OP_ITER] = { "ITER", false, false, 0 },
	[OP_FLUSH] = { "FLUSH", false, false, 0 },
	[OP_COMPACTION] = { "COMPACTION", false, false, 0 },
	[OP_STALL] = { "STALL", false, false, 0 },
};
const int catalog_nops = OP_COUNT;

#define CAPI(op, sym, e, r) { op, LAYER_CAPI, sym, e, r }
#define CXX(op, sym, e, r) { op, LAYER_CXX, sym, e, r }
#define BG(op, sym, e, r) { op, LAYER_BG, sym, e, r }
#define TALLY(op, sym, e, r) { op, LAYER_TALLY, sym, e, r }

const struct catalog_row catalog_rows[] = {
	CAPI(OP_GET, "rocksdb_get_pinned_cf", "e_get_pinned_cf", "r_get_pinned"),
	CAPI(OP_GET, "rocksdb_get_pinned", "e_get_pinned", "r_get_pinned"),
	CAPI(OP_GET, "rocksdb_get_cf", "e_get_cf", "r_get_vl"),
	CAPI(OP_GET, "rocksdb_get", "e_get", "r_get_vl"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_pinned_cf", "e_tget_pinned_cf", "r_tget_pinned"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_pinned", "e_tget_pinned", "r_tget_pinned"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_pinned_for_update_cf", "e_tget_pinned_fu_cf", "r_tget_pinned"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_pinned_for_update", "e_tget_pinned_fu", "r_tget_pinned"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_for_update_cf", "e_tget_fu_cf", "r_tget_vl"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_cf", "e_tget_cf", "r_tget_vl"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_for_update", "e_tget_fu", "r_tget_vl"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get", "e_tget", "r_tget_vl"),
	CAPI(OP_PUT, "rocksdb_put_cf", "e_put_cf", "r_put"),
	CAPI(OP_PUT, "rocksdb_put", "e_put", "r_put"),
	CAPI(OP_TXN_PUT, "rocksdb_transaction_put_cf", "e_tput_cf", "r_tput"),
	CAPI(OP_TXN_PUT, "rocksdb_transaction_put", "e_tput", "r_tput"),
	CAPI(OP_DELETE, "rocksdb_delete_cf", "e_del_cf", "r_del"),
	CAPI(OP_DELETE, "rocksdb_delete", "e_del", "r_del"),
	CAPI(OP_TXN_DELETE, "rocksdb_transaction_delete_cf", "e_tdel_cf", "r_tdel"),
	CAPI(OP_TXN_DELETE, "rocksdb_transaction_delete", "e_tdel", "r_tdel"),
	CAPI(OP_WRITE, "rocksdb_write", "e_write", "r_write"),
	CAPI(OP_TXN_COMMIT, "rocksdb_transaction_commit", "e_commit", "r_commit"),
	CAPI(OP_ITER, "rocksdb_create_iterator_cf", "e_iter_cf", "r_iter"),
	CAPI(OP_ITER, "rocksdb_create_iterator", "e_iter", "r_iter"),
	CAPI(OP_ITER, "rocksdb_transaction_create_iterator_cf", "e_iter_cf", "r_iter"),
	CAPI(OP_ITER, "rocksdb_transaction_create_iterator", "e_iter", "r_iter"),
	CAPI(OP_ITER, "rocksdb_iter_seek", "e_iter_seek", "r_iter"),
	CAPI(OP_ITER, "rocksdb_iter_seek_for_prev", "e_iter_seek", "r_iter"),
	CAPI(OP_ITER, "rocksdb_iter_seek_to_first", "e_iter", "r_iter"),
	CAPI(OP_ITER, "rocksdb_iter_seek_to_last", "e_iter", "r_iter"),

	CXX(OP_GET, "rocksdb::DBImpl::GetImpl(", "e_cxx_get", "r_cxx_get"),
	CXX(OP_WRITE, "rocksdb::DBImpl::WriteImpl(", "e_cxx_write", "r_cxx_write"),
	CXX(OP_ITER, "rocksdb::DBImpl::NewIterator(", "e_cxx_iter", "r_cxx_iter"),

	BG(OP_FLUSH, "rocksdb::FlushJob::Run(", "e_flush", "r_flush"),
	BG(OP_COMPACTION, "rocksdb::CompactionJob::Run()", "e_compaction", "r_compaction"),
	BG(OP_STALL, "rocksdb::DBImpl::DelayWrite(", "e_stall", "r_stall"),

	TALLY(OP_TXN_COMMIT, "rocksdb_optimistictransaction_begin", NULL, "r_tally_reset"),
	TALLY(OP_TXN_COMMIT, "rocksdb_transaction_begin", NULL, "r_tally_reset"),
	TALLY(OP_TXN_COMMIT, "rocksdb_transaction_rollback", "e_tally_reset", NULL),
	TALLY(OP_TXN_COMMIT, "rocksdb_transaction_destroy", "e_tally_reset", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_create", NULL, "r_tally_reset"),
	TALLY(OP_WRITE, "rocksdb_writebatch_clear", "e_tally_reset", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_destroy", "e_tally_reset", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_put_cf", "e_wb_put_cf", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_put", "e_wb_put", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_delete_cf", "e_wb_del_cf", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_delete", "e_wb_del", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_delete_range_cf", "e_wb_delrange_cf", NULL),
	TALLY(OP_WRITE, "rocksdb_writebatch_delete_range", "e_wb_delrange", NULL),
};
const int catalog_nrows = ARRAY_SIZE(catalog_rows);

int catalog_op_by_name(const char *name)
{
	int i;

	for (i = 0; i < catalog_nops; i++)
		if (strcasecmp(catalog_ops[i].name, name) == 0)
			return i;
	return -1;
}

int catalog_parse_ops(const char *list, uint32_t *mask, char *bad,
		      size_t badlen)
{
	char *copy, *tok, *save = NULL;
	int op, err = 0;

	*mask = 0;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		op = catalog_op_by_name(tok);
		if (op < 0) {
			snprintf(bad, badlen, "%s", tok);
			err = -EINVAL;
			break;
		}
		*mask |= BIT(op);
	}
	if (!err && !*mask) {
		snprintf(bad, badlen, "%s", list);
		err = -EINVAL;
	}
	free(copy);
	return err;
}

uint32_t catalog_closure(uint32_t mask)
{
	int i;

	for (i = 0; i < catalog_nops; i++)
		if (mask & BIT(i))
			mask |= catalog_ops[i].needs;
	return mask;
}

bool catalog_row_wanted(enum layer_choice c, const struct catalog_row *row)
{
	switch (row->layer) {
	case LAYER_CAPI:
	case LAYER_TALLY:
		return c != CHOOSE_CXX;
	case LAYER_CXX:
		return c != CHOOSE_CAPI;
	case LAYER_BG:
		return true;
	}
	return false;
}

const char *layer_choice_name(enum layer_choice c)
{
	static const char *const names[] = { "C API", "C++", "C API + C++" };

	return names[c];
}

struct resolve_ctx {
	struct resolution *r;
	int file;
	uint32_t mask;
	char needles[64][128];
};

static struct catalog_hit *hit_for(struct resolution *r,
				   const struct catalog_row *row, int file)
{
	struct catalog_hit *h;
	int i;

	for (i = 0; i < r->nhits; i++)
		if (r->hits[i].row == row)
			return r->hits[i].file == file ? &r->hits[i] : NULL;
	h = &r->hits[r->nhits++];
	memset(h, 0, sizeof(*h));
	h->row = row;
	h->file = file;
	return h;
}

static void add_site(struct resolution *r, const struct catalog_row *row,
		     int file, uint64_t addr, uint64_t size)
{
	struct catalog_hit *h = hit_for(r, row, file);
	uint64_t off;
	int i;

	if (!h || elf_vaddr_to_offset(&r->files[file], addr, &off) != 0)
		return;
	for (i = 0; i < h->nsites; i++)
		if (h->addr[i] == addr)
			return;
	if (h->nsites >= CATALOG_MAX_HITS)
		return;
	h->addr[h->nsites] = addr;
	h->offset[h->nsites] = off;
	h->size[h->nsites] = size;
	h->nsites++;
}

static int resolve_cb(const char *name, uint64_t addr, uint64_t size,
		      bool defined, void *arg)
{
	struct resolve_ctx *c = arg;
	const struct catalog_row *row;
	int i;

	if (!defined || !addr)
		return 0;
	for (i = 0; i < catalog_nrows; i++) {
		row = &catalog_rows[i];
		if (!(c->mask & BIT(row->op)) ||
		    !catalog_row_wanted(c->r->choice, row))
			continue;
		if (row->layer == LAYER_CAPI || row->layer == LAYER_TALLY) {
			if (name[0] == 'r' && strcmp(name, row->symbol) == 0)
				add_site(c->r, row, c->file, addr, size);
		} else if (name[0] == '_' && strstr(name, c->needles[i]) &&
			   cxx_prefix_match(name, row->symbol)) {
			add_site(c->r, row, c->file, addr, size);
		}
	}
	return 0;
}

static enum layer_choice choose_layer(const struct resolution *r,
				      const struct target *t)
{
	const struct elf_file *exe = &r->files[0];

	if (!t->pid && elf_is_library(exe))
		return CHOOSE_BOTH;
	if (elf_defines_prefix(exe, "rocksdb_") ||
	    elf_imports_prefix(exe, "rocksdb_"))
		return CHOOSE_CAPI;
	return CHOOSE_CXX;
}

int catalog_resolve(struct resolution *r, const struct target *t,
		    uint32_t mask)
{
	struct resolve_ctx *c;
	int i, err;

	memset(r, 0, sizeof(*r));
	r->hits = calloc((size_t)catalog_nrows * CATALOG_MAX_FILES,
			 sizeof(*r->hits));
	c = calloc(1, sizeof(*c));
	if (!r->hits || !c) {
		free(c);
		return -ENOMEM;
	}
	err = elf_open(&r->files[0], t->exe);
	if (err) {
		free(c);
		return err;
	}
	r->nfiles = 1;
	for (i = 0; i < t->nlibs; i++)
		if (elf_open(&r->files[r->nfiles], t->libs[i]) == 0)
			r->nfiles++;
	r->choice = choose_layer(r, t);
	c->r = r;
	c->mask = mask;
	for (i = 0; i < catalog_nrows && i < 64; i++)
		if (catalog_rows[i].layer == LAYER_CXX ||
		    catalog_rows[i].layer == LAYER_BG)
			cxx_prefix_needle(catalog_rows[i].symbol, c->needles[i],
					  sizeof(c->needles[i]));
	for (i = 0; i < r->nfiles; i++) {
		c->file = i;
		elf_symbols(&r->files[i], resolve_cb, c);
	}
	free(c);
	return 0;
}

void resolution_free(struct resolution *r)
{
	int i;

	for (i = 0; i < r->nfiles; i++)
		elf_close(&r->files[i]);
	free(r->hits);
	memset(r, 0, sizeof(*r));
}

uint32_t resolution_missing(const struct resolution *r, uint32_t mask)
{
	uint32_t found = 0;
	int i;

	for (i = 0; i < r->nhits; i++)
		if (r->hits[i].nsites && r->hits[i].row->layer != LAYER_TALLY)
			found |= BIT(r->hits[i].row->op);
	return mask & ~found;
}

static void fill_needles(struct resolve_ctx *c)
{
	int i;

	for (i = 0; i < catalog_nrows && i < 64; i++)
		if (catalog_rows[i].layer == LAYER_CXX ||
		    catalog_rows[i].layer == LAYER_BG)
			cxx_prefix_needle(catalog_rows[i].symbol, c->needles[i],
					  sizeof(c->needles[i]));
}

int catalog_resolve_all(struct resolution *r, const struct target *t)
{
	uint32_t all = BIT(catalog_nops) - 1;
	enum layer_choice choice;
	struct resolve_ctx *c;
	int i, err;

	err = catalog_resolve(r, t, all);
	if (err || r->choice == CHOOSE_BOTH)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	choice = r->choice;
	r->choice = CHOOSE_BOTH;
	c->r = r;
	c->mask = all;
	fill_needles(c);
	for (i = 0; i < r->nfiles; i++) {
		c->file = i;
		elf_symbols(&r->files[i], resolve_cb, c);
	}
	r->choice = choice;
	free(c);
	return 0;
}
