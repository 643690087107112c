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
	[OP_GET] = { "GET", true, CORE_CAPI | CORE_CXX, 0, false, NULL,
		     RESULTS_READ, NULL, 0,
		     BIT(OP_TXN_GET) | BIT(OP_TXN_GET_FOR_UPDATE) },
	[OP_TXN_GET] = { "TXN_GET", true, CORE_CAPI | CORE_TXN, 0, false,
			 NULL, RESULTS_READ, NULL, 0,
			 BIT(OP_TXN_GET_FOR_UPDATE) },
	[OP_TXN_GET_FOR_UPDATE] = { "TXN_GET_FOR_UPDATE", true, 0, 0, false,
				    NULL, RESULTS_READ, NULL, 0 },
	[OP_PUT] = { "PUT", true, 0, 0, false, NULL, RESULTS_WRITE, NULL, 0 },
	[OP_TXN_PUT] = { "TXN_PUT", true, CORE_CAPI | CORE_TXN, 0, false,
			 NULL, RESULTS_WRITE, NULL, 0 },
	[OP_DELETE] = { "DELETE", true, 0, 0, false, NULL, RESULTS_WRITE,
			NULL, 0 },
	[OP_TXN_DELETE] = { "TXN_DELETE", true, 0, 0, false, NULL,
			    RESULTS_WRITE, NULL, 0 },
	[OP_WRITE] = { "WRITE", true, CORE_CAPI | CORE_CXX, 0, false, NULL,
		       RESULTS_WRITE, NULL, 0,
		       BIT(OP_PUT) | BIT(OP_DELETE) | BIT(OP_TXN_COMMIT) |
		       BIT(OP_TXN_ROLLBACK) },
	[OP_TXN_COMMIT] = { "TXN_COMMIT", true, CORE_CAPI | CORE_TXN,
			    BIT(OP_TXN_PUT) | BIT(OP_TXN_DELETE), false, NULL,
			    RESULTS_WRITE, NULL, 0,
			    BIT(OP_PUT) | BIT(OP_DELETE) | BIT(OP_WRITE) },
	[OP_TXN_ROLLBACK] = { "TXN_ROLLBACK", false, 0, 0, false, NULL,
			      RESULTS_WRITE, NULL, 0 },
	[OP_ITER] = { "ITER", false, CORE_CXX, 0, false, NULL, RESULTS_NONE,
		      NULL, 0 },
	[OP_ITER_SEEK] = { "ITER_SEEK", false, 0, 0, false, NULL,
			   RESULTS_NONE, NULL, 0 },
	[OP_ITER_NEXT] = { "ITER_NEXT", true, 0, 0, true,
			   "off by default, one trap per key: -o ITER_NEXT",
			   RESULTS_NONE, "keys", 0 },
	[OP_INGEST] = { "INGEST", true, 0, 0, false, NULL, RESULTS_WRITE,
			"files", 0 },
	[OP_FLUSH] = { "FLUSH", false, 0, 0, false, NULL, RESULTS_WRITE, NULL,
		       0 },
	[OP_COMPACTION] = { "COMPACTION", false, 0, 0, false, NULL,
			    RESULTS_WRITE, NULL, 0 },
	[OP_STALL_DELAY] = { "STALL_DELAY", false, 0, 0, false, NULL,
			     RESULTS_NONE, NULL, 0 },
	[OP_STALL_STOP] = { "STALL_STOP", false, 0, BIT(OP_STALL_DELAY),
			    false, NULL, RESULTS_NONE, NULL,
			    BIT(OP_STALL_DELAY) },
};
const int catalog_nops = OP_COUNT;

#define CAPI(op, sym, e, r) { op, LAYER_CAPI, sym, e, r, false }
#define CXX(op, sym, e, r) { op, LAYER_CXX, sym, e, r, false }
#define BG(op, sym, e, r) { op, LAYER_BG, sym, e, r, false }
#define TALLY(op, sym, e, r) { op, LAYER_TALLY, sym, e, r, false }
#define CXX_AUX(op, sym, e, r) { op, LAYER_CXX_AUX, sym, e, r, false }
#define BG_NEED(op, sym, e, r) { op, LAYER_BG_AUX, sym, e, r, true }
#define BG_AUX(op, sym, e, r) { op, LAYER_BG_AUX, sym, e, r, false }

/* Demangled parameter lists, to tell overloads apart where the argument
 * registers differ. */
#define R "rocksdb::"
#define STR "std::__cxx11::basic_string<char"
#define STRREF STR ", std::char_traits<char>, std::allocator<char> > const&"
#define RD_CF_KEY "(" R "ReadOptions const&, " R "ColumnFamilyHandle*, " \
	R "Slice const&, "
#define WR_CF_KEY "(" R "WriteOptions const&, " R "ColumnFamilyHandle*, " \
	R "Slice const&"
#define CF_KEY "(" R "ColumnFamilyHandle*, " R "Slice const&"

const struct catalog_row catalog_rows[] = {
	/* ---- C API (rocksdb/c.h) ---- */
	CAPI(OP_GET, "rocksdb_get_pinned_cf", "e_get_pinned_cf", "r_get_pinned"),
	CAPI(OP_GET, "rocksdb_get_pinned", "e_get_pinned", "r_get_pinned"),
	CAPI(OP_GET, "rocksdb_get_cf", "e_get_cf", "r_get_vl"),
	CAPI(OP_GET, "rocksdb_get", "e_get", "r_get_vl"),
	CAPI(OP_GET, "rocksdb_transactiondb_get_pinned_cf", "e_get_pinned_cf", "r_get_pinned"),
	CAPI(OP_GET, "rocksdb_transactiondb_get_pinned", "e_get_pinned", "r_get_pinned"),
	CAPI(OP_GET, "rocksdb_transactiondb_get_cf", "e_get_cf", "r_get_vl"),
	CAPI(OP_GET, "rocksdb_transactiondb_get", "e_get", "r_get_vl"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_pinned_cf", "e_tget_pinned_cf", "r_tget_pinned"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_pinned", "e_tget_pinned", "r_tget_pinned"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get_cf", "e_tget_cf", "r_tget_vl"),
	CAPI(OP_TXN_GET, "rocksdb_transaction_get", "e_tget", "r_tget_vl"),
	CAPI(OP_TXN_GET_FOR_UPDATE, "rocksdb_transaction_get_pinned_for_update_cf", "e_tgetfu_pinned_cf", "r_tgetfu_pinned"),
	CAPI(OP_TXN_GET_FOR_UPDATE, "rocksdb_transaction_get_pinned_for_update", "e_tgetfu_pinned", "r_tgetfu_pinned"),
	CAPI(OP_TXN_GET_FOR_UPDATE, "rocksdb_transaction_get_for_update_cf", "e_tgetfu_cf", "r_tgetfu_vl"),
	CAPI(OP_TXN_GET_FOR_UPDATE, "rocksdb_transaction_get_for_update", "e_tgetfu", "r_tgetfu_vl"),
	CAPI(OP_PUT, "rocksdb_put_cf", "e_put_cf", "r_put"),
	CAPI(OP_PUT, "rocksdb_put", "e_put", "r_put"),
	CAPI(OP_PUT, "rocksdb_transactiondb_put_cf", "e_put_cf", "r_put"),
	CAPI(OP_PUT, "rocksdb_transactiondb_put", "e_put", "r_put"),
	CAPI(OP_TXN_PUT, "rocksdb_transaction_put_cf", "e_tput_cf", "r_tput"),
	CAPI(OP_TXN_PUT, "rocksdb_transaction_put", "e_tput", "r_tput"),
	CAPI(OP_DELETE, "rocksdb_delete_cf", "e_del_cf", "r_del"),
	CAPI(OP_DELETE, "rocksdb_delete", "e_del", "r_del"),
	CAPI(OP_DELETE, "rocksdb_transactiondb_delete_cf", "e_del_cf", "r_del"),
	CAPI(OP_DELETE, "rocksdb_transactiondb_delete", "e_del", "r_del"),
	CAPI(OP_TXN_DELETE, "rocksdb_transaction_delete_cf", "e_tdel_cf", "r_tdel"),
	CAPI(OP_TXN_DELETE, "rocksdb_transaction_delete", "e_tdel", "r_tdel"),
	CAPI(OP_WRITE, "rocksdb_write", "e_write", "r_write"),
	CAPI(OP_WRITE, "rocksdb_transactiondb_write", "e_write", "r_write"),
	CAPI(OP_TXN_COMMIT, "rocksdb_transaction_commit", "e_commit", "r_commit"),
	CAPI(OP_TXN_ROLLBACK, "rocksdb_transaction_rollback", "e_rollback", "r_rollback"),
	CAPI(OP_ITER, "rocksdb_create_iterator_cf", "e_iter_cf", "r_iter"),
	CAPI(OP_ITER, "rocksdb_create_iterator", "e_iter", "r_iter"),
	CAPI(OP_ITER, "rocksdb_transaction_create_iterator_cf", "e_iter_cf", "r_iter"),
	CAPI(OP_ITER, "rocksdb_transaction_create_iterator", "e_iter", "r_iter"),
	CAPI(OP_ITER, "rocksdb_transactiondb_create_iterator_cf", "e_iter_cf", "r_iter"),
	CAPI(OP_ITER, "rocksdb_transactiondb_create_iterator", "e_iter", "r_iter"),
	CAPI(OP_ITER_SEEK, "rocksdb_iter_seek", "e_seek", "r_seek"),
	CAPI(OP_ITER_SEEK, "rocksdb_iter_seek_for_prev", "e_seek", "r_seek"),
	CAPI(OP_ITER_SEEK, "rocksdb_iter_seek_to_first", "e_seek_end", "r_seek"),
	CAPI(OP_ITER_SEEK, "rocksdb_iter_seek_to_last", "e_seek_end", "r_seek"),
	CAPI(OP_ITER_NEXT, "rocksdb_iter_next", "e_next", "r_next"),
	CAPI(OP_ITER_NEXT, "rocksdb_iter_prev", "e_next", "r_next"),
	CAPI(OP_INGEST, "rocksdb_ingest_external_file_cf", "e_ingest_cf", "r_ingest"),
	CAPI(OP_INGEST, "rocksdb_ingest_external_file", "e_ingest", "r_ingest"),

	/* ---- C++: for programs that never call the C API, and under it ---- */
	/* the first row of an op that matches a symbol wins: specific
	 * overloads before the catch-all */
	CXX(OP_GET, R "DBImpl::GetImpl(" R "ReadOptions const&, " R "Slice const&, " R "DBImpl::GetImplOptions&", "e_cxx_get_opts", "r_cxx_get"),
	CXX(OP_GET, R "DBImpl::GetImpl" RD_CF_KEY R "PinnableSlice*", "e_cxx_get_cf", "r_cxx_get"),
	CXX(OP_GET, R "DBImpl::GetImpl(", "e_cxx_get", "r_cxx_get"),
	CXX(OP_TXN_GET, R "TransactionBaseImpl::Get" RD_CF_KEY R "PinnableSlice*", "e_cxx_tget", "r_cxx_tget"),
	CXX(OP_TXN_GET, R "TransactionBaseImpl::Get" RD_CF_KEY STR, "e_cxx_tget", "r_cxx_tget"),
	CXX(OP_TXN_GET, R "WritePreparedTxn::Get" RD_CF_KEY R "PinnableSlice*", "e_cxx_tget", "r_cxx_tget"),
	CXX(OP_TXN_GET, R "WriteUnpreparedTxn::Get" RD_CF_KEY R "PinnableSlice*", "e_cxx_tget", "r_cxx_tget"),
	CXX(OP_TXN_GET_FOR_UPDATE, R "TransactionBaseImpl::GetForUpdate" RD_CF_KEY R "PinnableSlice*", "e_cxx_tgetfu", "r_cxx_tgetfu"),
	CXX(OP_TXN_GET_FOR_UPDATE, R "TransactionBaseImpl::GetForUpdate" RD_CF_KEY STR, "e_cxx_tgetfu", "r_cxx_tgetfu"),
	CXX(OP_TXN_GET_FOR_UPDATE, R "WriteCommittedTxn::GetForUpdate" RD_CF_KEY R "PinnableSlice*", "e_cxx_tgetfu", "r_cxx_tgetfu"),
	CXX(OP_TXN_GET_FOR_UPDATE, R "WriteCommittedTxn::GetForUpdate" RD_CF_KEY STR, "e_cxx_tgetfu", "r_cxx_tgetfu"),
	CXX(OP_PUT, R "DBImpl::Put" WR_CF_KEY ", " R "Slice const&)", "e_cxx_put", "r_cxx_put"),
	CXX(OP_PUT, R "PessimisticTransactionDB::Put" WR_CF_KEY ", " R "Slice const&)", "e_cxx_put", "r_cxx_put"),
	CXX(OP_DELETE, R "DBImpl::Delete" WR_CF_KEY ")", "e_cxx_del", "r_cxx_del"),
	CXX(OP_DELETE, R "DBImpl::SingleDelete" WR_CF_KEY ")", "e_cxx_del", "r_cxx_del"),
	CXX(OP_DELETE, R "PessimisticTransactionDB::Delete" WR_CF_KEY ")", "e_cxx_del", "r_cxx_del"),
	CXX(OP_WRITE, R "DBImpl::WriteImpl(", "e_cxx_write", "r_cxx_write"),
	CXX(OP_TXN_PUT, R "TransactionBaseImpl::Put" CF_KEY ", " R "Slice const&", "e_cxx_tput", "r_cxx_tput"),
	CXX(OP_TXN_PUT, R "WriteCommittedTxn::Put" CF_KEY ", " R "Slice const&", "e_cxx_tput", "r_cxx_tput"),
	CXX(OP_TXN_PUT, R "WriteUnpreparedTxn::Put" CF_KEY ", " R "Slice const&", "e_cxx_tput", "r_cxx_tput"),
	CXX(OP_TXN_DELETE, R "TransactionBaseImpl::Delete" CF_KEY, "e_cxx_tdel", "r_cxx_tdel"),
	CXX(OP_TXN_DELETE, R "TransactionBaseImpl::SingleDelete" CF_KEY, "e_cxx_tdel", "r_cxx_tdel"),
	CXX(OP_TXN_DELETE, R "WriteCommittedTxn::Delete" CF_KEY, "e_cxx_tdel", "r_cxx_tdel"),
	CXX(OP_TXN_DELETE, R "WriteCommittedTxn::SingleDelete" CF_KEY, "e_cxx_tdel", "r_cxx_tdel"),
	CXX(OP_TXN_DELETE, R "WriteUnpreparedTxn::Delete" CF_KEY, "e_cxx_tdel", "r_cxx_tdel"),
	CXX(OP_TXN_DELETE, R "WriteUnpreparedTxn::SingleDelete" CF_KEY, "e_cxx_tdel", "r_cxx_tdel"),
	CXX(OP_TXN_COMMIT, R "PessimisticTransaction::Commit()", "e_cxx_commit", "r_cxx_commit"),
	CXX(OP_TXN_COMMIT, R "OptimisticTransaction::Commit()", "e_cxx_commit", "r_cxx_commit"),
	CXX(OP_TXN_ROLLBACK, R "PessimisticTransaction::Rollback()", "e_cxx_rollback", "r_cxx_rollback"),
	CXX(OP_TXN_ROLLBACK, R "OptimisticTransaction::Rollback()", "e_cxx_rollback", "r_cxx_rollback"),
	CXX(OP_ITER, R "DBImpl::NewIterator(", "e_cxx_iter", "r_cxx_iter"),
	CXX(OP_ITER, R "TransactionBaseImpl::GetIterator(", "e_cxx_iter", "r_cxx_iter"),
	CXX(OP_ITER, R "WritePreparedTxn::GetIterator(", "e_cxx_iter", "r_cxx_iter"),
	CXX(OP_ITER_SEEK, R "DBIter::Seek(" R "Slice const&)", "e_cxx_seek", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "DBIter::SeekForPrev(" R "Slice const&)", "e_cxx_seek", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "DBIter::SeekToFirst()", "e_cxx_seek_end", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "DBIter::SeekToLast()", "e_cxx_seek_end", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "BaseDeltaIterator::Seek(" R "Slice const&)", "e_cxx_seek", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "BaseDeltaIterator::SeekForPrev(" R "Slice const&)", "e_cxx_seek", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "BaseDeltaIterator::SeekToFirst()", "e_cxx_seek_end", "r_cxx_seek"),
	CXX(OP_ITER_SEEK, R "BaseDeltaIterator::SeekToLast()", "e_cxx_seek_end", "r_cxx_seek"),
	CXX(OP_ITER_NEXT, R "DBIter::Next()", "e_cxx_next", "r_cxx_next"),
	CXX(OP_ITER_NEXT, R "DBIter::Prev()", "e_cxx_next", "r_cxx_next"),
	CXX(OP_ITER_NEXT, R "BaseDeltaIterator::Next()", "e_cxx_next", "r_cxx_next"),
	CXX(OP_ITER_NEXT, R "BaseDeltaIterator::Prev()", "e_cxx_next", "r_cxx_next"),
	CXX(OP_INGEST, R "DBImpl::IngestExternalFile(", "e_cxx_ingest", "r_cxx_ingest"),
	CXX(OP_INGEST, R "DBImpl::IngestExternalFiles(", "e_cxx_ingest", "r_cxx_ingest"),

	/* ---- background work and stalls, whatever the layer ---- */
	BG(OP_FLUSH, R "FlushJob::Run(", "e_flush", "r_flush"),
	BG(OP_COMPACTION, R "CompactionJob::Run()", "e_compaction", "r_compaction"),
	BG(OP_STALL_DELAY, R "DBImpl::DelayWrite(", "e_stall", "r_stall"),
	BG_NEED(OP_STALL_DELAY, R "WriteController::GetDelay(", NULL, "r_stall_asked"),
	BG_NEED(OP_STALL_STOP, R "InstrumentedCondVar::Wait()", "e_stall_wait", NULL),

	/* ---- no timing: what feeds byte and item counts ---- */
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
	TALLY(OP_ITER_NEXT, "rocksdb_iter_key", "e_acc_capi", "r_key_capi"),
	TALLY(OP_ITER_NEXT, "rocksdb_iter_value", "e_acc_capi", "r_value_capi"),
	CXX_AUX(OP_TXN_COMMIT, R "PessimisticTransaction::~PessimisticTransaction(", "e_tally_reset", NULL),
	CXX_AUX(OP_TXN_COMMIT, R "OptimisticTransaction::~OptimisticTransaction(", "e_tally_reset", NULL),
	CXX_AUX(OP_TXN_COMMIT, R "TransactionBaseImpl::Reinitialize(", "e_tally_reset", NULL),
	CXX_AUX(OP_ITER_NEXT, R "ArenaWrappedDBIter::key() const", "e_acc_cxx", "r_key_cxx"),
	CXX_AUX(OP_ITER_NEXT, R "ArenaWrappedDBIter::value() const", "e_acc_cxx", "r_value_cxx"),
	CXX_AUX(OP_ITER_NEXT, R "BaseDeltaIterator::key() const", "e_acc_cxx", "r_key_cxx"),
	CXX_AUX(OP_ITER_NEXT, R "BaseDeltaIterator::value() const", "e_acc_cxx", "r_value_cxx"),
	BG_AUX(OP_INGEST, R "ExternalSstFileIngestionJob::GetIngestedFileInfo(" STRREF ", unsigned long, " R "IngestedFileInfo*", "e_fileinfo4", "r_fileinfo"),
	BG_AUX(OP_INGEST, R "ExternalSstFileIngestionJob::GetIngestedFileInfo(" STRREF ", " R "IngestedFileInfo*", "e_fileinfo3", "r_fileinfo"),
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

uint32_t catalog_default_mask(void)
{
	uint32_t m = 0;
	int i;

	for (i = 0; i < catalog_nops; i++)
		if (!catalog_ops[i].off)
			m |= BIT(i);
	return m;
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
		if (op >= 0) {
			*mask |= BIT(op);
		} else if (strcasecmp(tok, "STALL") == 0) {
			*mask |= BIT(OP_STALL_DELAY) | BIT(OP_STALL_STOP);
		} else if (strcasecmp(tok, "all") == 0) {
			*mask |= BIT(catalog_nops) - 1;
		} else {
			snprintf(bad, badlen, "%s", tok);
			err = -EINVAL;
			break;
		}
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

/* With nesting, the ops whose calls make the selected ones. */
static uint32_t guard_closure(uint32_t mask)
{
	uint32_t prev;
	int i;

	do {
		prev = mask;
		for (i = 0; i < catalog_nops; i++)
			if (mask & BIT(i))
				mask |= catalog_ops[i].guards |
					catalog_ops[i].needs;
	} while (mask != prev);
	return mask;
}

bool catalog_row_aux(const struct catalog_row *row)
{
	return row->layer == LAYER_TALLY || row->layer == LAYER_CXX_AUX ||
	       row->layer == LAYER_BG_AUX;
}

bool catalog_row_wanted(enum layer_choice c, const struct catalog_row *row)
{
	switch (row->layer) {
	case LAYER_CAPI:
	case LAYER_TALLY:
		return c != CHOOSE_CXX;
	case LAYER_CXX:
	case LAYER_CXX_AUX:
		return c != CHOOSE_CAPI;
	case LAYER_BG:
	case LAYER_BG_AUX:
		return true;
	}
	return false;
}

const char *layer_choice_name(enum layer_choice c)
{
	static const char *const names[] = { "C API", "C++", "C API + C++" };

	return names[c];
}

int catalog_nesting(const struct resolution *r)
{
	return r->choice != CHOOSE_CAPI;
}

void catalog_op_list(uint32_t mask, const char *sep, char *buf, size_t len)
{
	size_t n = 0;
	int i, w;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < catalog_nops; i++) {
		if (!(mask & BIT(i)))
			continue;
		w = snprintf(buf + n, len - n, "%s%s", n ? sep : "",
			     catalog_ops[i].name);
		if (w < 0 || (size_t)w >= len - n)
			return;
		n += (size_t)w;
	}
}

struct resolve_ctx {
	struct resolution *r;
	int file;
	uint32_t mask;
	char (*needles)[128];
};

static struct catalog_hit *hit_for(struct resolution *r,
				   const struct catalog_row *row, int file)
{
	struct catalog_hit *h;
	int i;

	for (i = 0; i < r->nhits; i++)
		if (r->hits[i].row == row && r->hits[i].file == file)
			return &r->hits[i];
	h = &r->hits[r->nhits++];
	memset(h, 0, sizeof(*h));
	h->row = row;
	h->file = file;
	return h;
}

static void add_site(struct resolution *r, const struct catalog_row *row,
		     int file, uint64_t addr, uint64_t size)
{
	struct catalog_hit *h;
	uint64_t off;
	int i;

	if (elf_vaddr_to_offset(&r->files[file], addr, &off) != 0)
		return;
	h = hit_for(r, row, file);
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

static bool row_selected(const struct resolve_ctx *c,
			 const struct catalog_row *row)
{
	return (c->mask & BIT(row->op)) &&
	       catalog_row_wanted(c->r->choice, row);
}

static void resolve_cxx(struct resolve_ctx *c, const char *name,
			uint64_t addr, uint64_t size)
{
	uint32_t taken = 0;
	char *d = NULL;
	int i;

	for (i = 0; i < catalog_nrows; i++) {
		const struct catalog_row *row = &catalog_rows[i];

		if (row->layer == LAYER_CAPI || row->layer == LAYER_TALLY ||
		    !row_selected(c, row) || (taken & BIT(row->op)) ||
		    !strstr(name, c->needles[i]))
			continue;
		if (!d && !(d = cxx_demangle(name)))
			return;
		if (!cxx_demangled_match(d, row->symbol))
			continue;
		add_site(c->r, row, c->file, addr, size);
		/* aux rows of an op share programs with nothing else */
		if (!catalog_row_aux(row))
			taken |= BIT(row->op);
	}
	free(d);
}

static int resolve_cb(const char *name, uint64_t addr, uint64_t size,
		      bool defined, void *arg)
{
	struct resolve_ctx *c = arg;
	int i;

	if (!defined || !addr)
		return 0;
	if (strncmp(name, "rocksdb_", 8) == 0) {
		for (i = 0; i < catalog_nrows; i++) {
			const struct catalog_row *row = &catalog_rows[i];

			if ((row->layer == LAYER_CAPI ||
			     row->layer == LAYER_TALLY) &&
			    row_selected(c, row) &&
			    strcmp(name, row->symbol) == 0)
				add_site(c->r, row, c->file, addr, size);
		}
	} else if (name[0] == '_' && name[1] == 'Z' &&
		   strstr(name, "7rocksdb")) {
		resolve_cxx(c, name, addr, size);
	}
	return 0;
}

static void fill_needles(struct resolve_ctx *c)
{
	int i;

	for (i = 0; i < catalog_nrows; i++) {
		c->needles[i][0] = '\0';
		if (catalog_rows[i].layer != LAYER_CAPI &&
		    catalog_rows[i].layer != LAYER_TALLY)
			cxx_prefix_needle(catalog_rows[i].symbol, c->needles[i],
					  sizeof(c->needles[i]));
	}
}

static int resolve_files(struct resolution *r, uint32_t mask)
{
	struct resolve_ctx c = { .r = r, .mask = mask };
	int i;

	c.needles = calloc((size_t)catalog_nrows, sizeof(*c.needles));
	if (!c.needles)
		return -ENOMEM;
	fill_needles(&c);
	for (i = 0; i < r->nfiles; i++) {
		c.file = i;
		elf_symbols(&r->files[i], resolve_cb, &c);
	}
	free(c.needles);
	return 0;
}

/* Does a file other than a plain executable hold RocksDB's C API?  Such a
 * library or plugin may be called at either layer. */
static bool embedded_capi(const struct resolution *r)
{
	int i;

	for (i = 1; i < r->nfiles; i++)
		if (elf_defines_prefix(&r->files[i], "rocksdb_"))
			return true;
	return false;
}

static enum layer_choice choose_layer(const struct resolution *r)
{
	const struct elf_file *exe = &r->files[0];

	if (elf_is_library(exe))
		return elf_defines_prefix(exe, "rocksdb_") ? CHOOSE_BOTH :
							     CHOOSE_CXX;
	/* a C API program with RocksDB linked in, like ckb */
	if (elf_defines_prefix(exe, "rocksdb_"))
		return CHOOSE_CAPI;
	/* a C API program on librocksdb.so */
	if (elf_imports_prefix(exe, "rocksdb_") &&
	    !elf_imports_prefix(exe, "_ZN7rocksdb"))
		return CHOOSE_CAPI;
	return embedded_capi(r) ? CHOOSE_BOTH : CHOOSE_CXX;
}

int catalog_resolve(struct resolution *r, const struct target *t,
		    uint32_t mask)
{
	int i, err;

	memset(r, 0, sizeof(*r));
	r->hits = calloc((size_t)catalog_nrows * CATALOG_MAX_FILES,
			 sizeof(*r->hits));
	if (!r->hits)
		return -ENOMEM;
	err = elf_open(&r->files[0], t->exe);
	if (err)
		return err;
	r->shown[0] = t->exe_shown;
	r->nfiles = 1;
	for (i = 0; i < t->nlibs; i++)
		if (elf_open(&r->files[r->nfiles], t->libs[i]) == 0)
			r->shown[r->nfiles++] = t->libs_shown[i];
	r->choice = choose_layer(r);
	if (catalog_nesting(r))
		mask = guard_closure(mask);
	return resolve_files(r, mask);
}

void resolution_free(struct resolution *r)
{
	int i;

	for (i = 0; i < r->nfiles; i++)
		elf_close(&r->files[i]);
	free(r->hits);
	memset(r, 0, sizeof(*r));
}

static bool row_resolved(const struct resolution *r,
			 const struct catalog_row *row)
{
	int i;

	for (i = 0; i < r->nhits; i++)
		if (r->hits[i].row == row && r->hits[i].nsites)
			return true;
	return false;
}

uint32_t resolution_missing(const struct resolution *r, uint32_t mask)
{
	uint32_t timed = 0, lacking = 0, ok;
	int i;

	for (i = 0; i < catalog_nrows; i++) {
		const struct catalog_row *row = &catalog_rows[i];

		if (!catalog_row_wanted(r->choice, row))
			continue;
		if (!catalog_row_aux(row) && row_resolved(r, row))
			timed |= BIT(row->op);
		if (row->required && !row_resolved(r, row))
			lacking |= BIT(row->op);
	}
	ok = 0;
	for (i = 0; i < catalog_nops; i++)
		if ((timed & BIT(i)) ||
		    (catalog_ops[i].timed_by & timed))
			ok |= BIT(i);
	return mask & ~(ok & ~lacking);
}

uint32_t catalog_core(const struct resolution *r)
{
	uint32_t m = 0;
	bool txn = false;
	int i, layers = 0;

	if (r->choice != CHOOSE_CXX &&
	    (r->choice == CHOOSE_CAPI || elf_defines_prefix(&r->files[0],
							     "rocksdb_") ||
	     embedded_capi(r)))
		layers |= CORE_CAPI;
	if (r->choice != CHOOSE_CAPI)
		layers |= CORE_CXX;
	/* a TransactionDB is linked in when its base class is */
	for (i = 0; i < r->nhits && (layers & CORE_CXX); i++)
		if (r->hits[i].nsites && r->hits[i].row->layer == LAYER_CXX &&
		    strstr(r->hits[i].row->symbol, "Transaction"))
			txn = true;
	if (txn)
		layers |= CORE_TXN;
	for (i = 0; i < catalog_nops; i++)
		if (catalog_ops[i].core & layers)
			m |= BIT(i);
	return m;
}

/* "...)" after a demangled prefix that stops inside its parameters. */
static const char *prefix_tail(const char *sym)
{
	size_t n = strlen(sym);

	return strchr(sym, '(') && n && sym[n - 1] != ')' ? "...)" : "";
}

/* The first symbol the op would need in this layer, and how many more. */
static const char *first_symbol(const struct resolution *r, int op,
				bool want_required, int *more)
{
	const char *first = NULL;
	int i;

	*more = 0;
	for (i = 0; i < catalog_nrows; i++) {
		const struct catalog_row *row = &catalog_rows[i];

		if (row->op != op || !catalog_row_wanted(r->choice, row) ||
		    (want_required ? !row->required : catalog_row_aux(row)) ||
		    row_resolved(r, row))
			continue;
		if (!first)
			first = row->symbol;
		else
			(*more)++;
	}
	return first;
}

static bool any_stripped(const struct resolution *r)
{
	int i;

	for (i = 0; i < r->nfiles; i++)
		if (!r->files[i].has_symtab && !r->files[i].debug_path[0])
			return true;
	return false;
}

void catalog_why(const struct resolution *r, const struct target *t,
		 int op, char *buf, size_t len)
{
	const char *sym;
	int more;

	(void)t;
	sym = first_symbol(r, op, true, &more);
	if (sym && !(resolution_missing(r, catalog_ops[op].timed_by) &
		     catalog_ops[op].timed_by)) {
		snprintf(buf, len, "%s%s not found, which it needs", sym,
			 prefix_tail(sym));
		return;
	}
	sym = first_symbol(r, op, false, &more);
	if (!sym && catalog_ops[op].timed_by) {
		catalog_why(r, t, __builtin_ctz(catalog_ops[op].timed_by), buf,
			    len);
		return;
	}
	if (!sym) {
		snprintf(buf, len, "no %s entry point", layer_choice_name(
			 r->choice));
		return;
	}
	snprintf(buf, len, "no %s%s%s", sym, prefix_tail(sym),
		 any_stripped(r) ? " in .dynsym (.symtab stripped)" :
				   " defined");
	if (more) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " nor %d other entry point%s", more,
			 more > 1 ? "s" : "");
	}
}

/* Is the file stripped of its symbols, without a debug file, while its
 * bytes mention RocksDB (a static build stripped)? */
static bool stripped_rocksdb(const struct elf_file *f)
{
	return !f->has_symtab && !f->debug_elf && elf_contains(f, "rocksdb");
}

static void explain_stripped(const struct elf_file *f, const char *who,
			     char *what, size_t wlen, char *remedy,
			     size_t rlen)
{
	snprintf(what, wlen, "no RocksDB symbols in %s: .symtab stripped and "
		 "no debug file found%s%s", who, f->debuglink[0] ? " for " : "",
		 f->debuglink);
	snprintf(remedy, rlen, "install its debug symbols, or use a build "
		 "that keeps .symtab");
}

int catalog_explain(const struct resolution *r, const struct target *t,
		    uint32_t mask, char *what, size_t wlen, char *remedy,
		    size_t rlen)
{
	const char *who = t->exe_shown;
	char ops[256], why[320];
	struct elf_file f;
	bool rocksdb = false, stripped;
	int i, n = __builtin_popcount(mask);

	for (i = 0; i < r->nfiles; i++)
		if (elf_defines_prefix(&r->files[i], "rocksdb_") ||
		    elf_defines_prefix(&r->files[i], "_ZN7rocksdb"))
			rocksdb = true;
	/* a file whose RocksDB cannot be seen: no .symtab, no debug file */
	for (i = 0; i < r->nfiles; i++) {
		stripped = stripped_rocksdb(&r->files[i]);
		if (stripped && (!rocksdb || !(mask & ~resolution_missing(
						r, mask)))) {
			explain_stripped(&r->files[i], r->shown[i], what, wlen,
					 remedy, rlen);
			return -ENOENT;
		}
	}
	if (rocksdb) {
		/* RocksDB is there, but not what was asked for */
		for (i = 0; i < catalog_nops; i++)
			if (mask & BIT(i))
				break;
		catalog_why(r, t, i, why, sizeof(why));
		if (n > 3)
			snprintf(ops, sizeof(ops), "any of the %d operations "
				 "asked for", n);
		else
			catalog_op_list(mask, ",", ops, sizeof(ops));
		snprintf(what, wlen, "cannot probe %s in %s (%s layer): %s",
			 ops, who, layer_choice_name(r->choice), why);
		if (t->pid)
			snprintf(remedy, rlen, "see ckb-symbols -p %d", t->pid);
		else
			snprintf(remedy, rlen, "see ckb-symbols %s", who);
		return -ENOENT;
	}
	if (t->needed[0] && !t->pid && r->nfiles == 1) {
		snprintf(what, wlen, "%s links %s, which was not found", who,
			 t->needed);
		snprintf(remedy, rlen, "use -b with its path, or -p PID");
		return -ENOENT;
	}
	/* a mapped object that has no symbols to show */
	for (i = 0; i < t->nopaque; i++) {
		if (elf_open(&f, t->opaque[i]) != 0)
			continue;
		stripped = stripped_rocksdb(&f);
		if (stripped)
			explain_stripped(&f, t->opaque[i], what, wlen, remedy,
					 rlen);
		elf_close(&f);
		if (stripped)
			return -ENOENT;
	}
	if (t->pid) {
		snprintf(what, wlen, "process %d (%s) uses no RocksDB: no "
			 "RocksDB symbols in its executable or any of the %d "
			 "objects it maps", t->pid, who, t->nobjects);
		snprintf(remedy, rlen, "pass the node's PID");
	} else {
		snprintf(what, wlen, "no RocksDB symbols in %s; it does not "
			 "use RocksDB", who);
		snprintf(remedy, rlen, "pass the node executable");
	}
	return -ENOENT;
}

int catalog_resolve_all(struct resolution *r, const struct target *t)
{
	uint32_t all = BIT(catalog_nops) - 1;
	enum layer_choice choice;
	int err;

	err = catalog_resolve(r, t, all);
	if (err || r->choice == CHOOSE_BOTH)
		return err;
	choice = r->choice;
	r->choice = CHOOSE_BOTH;
	err = resolve_files(r, all);
	r->choice = choice;
	return err;
}
