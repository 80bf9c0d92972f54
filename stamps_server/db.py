"""Statements on the hot path, straight through libpq.

Django's cursor wrapper costs about a tenth of an award's Python, and psycopg's cursor (its
query conversion, prepared-statement bookkeeping and the generator it waits on) a fifth more;
on PostgreSQL these statements skip both unless something watches the queries (DEBUG's query
log, a test counting them, an execute wrapper), and then take Django's cursor like any query.
Either way errors arrive as Django's database errors, and the statement runs in whatever
transaction Django has open."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from asgiref import local
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import abc, errors, generators, pq
from psycopg.adapt import PyFormat, Transformer


def one_row(query: str, arguments: list[Any]) -> tuple | None:
    """The first row the query returns."""
    return _run(query, arguments, fetch=True)


def execute(query: str, arguments: list[Any]) -> None:
    _run(query, arguments, fetch=False)


def execute_and_commit(query: str, arguments: list[Any]) -> None:
    """The last statement of the transaction an outermost atomic block holds, sent with its
    COMMIT in one round trip; the block's own commit then finds nothing left to commit
    (psycopg sends none when no transaction is open). Inside any other block (a caller's
    or a test's transaction) it is a plain statement, and that transaction commits it.
    The caller runs nothing after it in the block."""
    _run(query, arguments, fetch=False, commit=commits_on_exit(default_connection()))


def commits_on_exit(wrapper: BaseDatabaseWrapper) -> bool:
    """Whether the innermost atomic block is the outermost one and will commit on leaving."""
    return (
        wrapper.in_atomic_block
        and wrapper.commit_on_exit
        and not wrapper.savepoint_ids
        and not wrapper.needs_rollback
    )


def _run(query: str, arguments: list[Any], *, fetch: bool, commit: bool = False) -> Any:
    wrapper = default_connection()
    if wrapper.vendor != "postgresql" or wrapper.queries_logged or wrapper.execute_wrappers:
        with wrapper.cursor() as cursor:
            cursor.execute(query, arguments)
            return cursor.fetchone() if fetch else None
    if wrapper.connection is None:  # (ensure_connection() costs a call through async_unsafe)
        wrapper.ensure_connection()
    connection = wrapper.connection
    with wrapper.wrap_database_errors:
        if connection.prepare_threshold is None:  # STAMPS_PREPARED_STATEMENTS is off
            unprepared = psycopg.Cursor(connection).execute(query, arguments)
            return unprepared.fetchone() if fetch else None
        return prepared_run(connection, query, arguments, fetch=fetch, commit=commit)


def default_connection() -> BaseDatabaseWrapper:
    """connections[DEFAULT_DB_ALIAS], as django.db.connection's every attribute looks it up."""
    storage = sync_thread_storage()
    wrapper = None if storage is None else storage.__dict__.get(DEFAULT_DB_ALIAS)
    return connections[DEFAULT_DB_ALIAS] if wrapper is None else wrapper


def initialized_connections() -> Sequence[BaseDatabaseWrapper]:
    """connections.all(initialized_only=True)."""
    storage = sync_thread_storage()
    if storage is None:
        return connections.all(initialized_only=True)
    opened = storage.__dict__
    return [opened[alias] for alias in connections.settings if alias in opened]


def sync_thread_storage() -> Any:
    """The thread's own storage of Django's connections where asgiref's Local keeps them in
    one (a thread with no event loop running), else None. Each look-up through the Local
    raises and catches two exceptions: the six a request made cost more than validating
    its body."""
    storage = connections._connections  # type: ignore[attr-defined]
    if type(storage) is not THREAD_CRITICAL_LOCAL or asyncio._get_running_loop() is not None:
        return None
    return getattr(storage, "_storage", None)  # (None: an asgiref that keeps it elsewhere)


# (asgiref's class for a thread-critical Local; None in an asgiref that stores them otherwise)
THREAD_CRITICAL_LOCAL = getattr(local, "_ThreadCriticalLocal", None)


@dataclass
class Statements:
    """What a connection has prepared: the name of each query's statement."""

    transformer: abc.Transformer
    names: dict[str, bytes] = field(default_factory=dict)


_statements: "WeakKeyDictionary[psycopg.Connection, Statements]" = WeakKeyDictionary()
_statement_numbers = count()  # names never reused, even after some were deallocated
OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
# Deallocated behind our back (26000), or a function's result columns changed by a migration
# since the statement was prepared ("cached plan must not change result type", 0A000).
STATEMENTS_STALE = (b"26000", b"0A000")
PIPELINE_MODE = psycopg.Pipeline.is_supported()  # libpq 14 or later, as psycopg[binary] has


def statements_of(connection: psycopg.Connection) -> Statements:
    statements = _statements.get(connection)
    if statements is None:
        statements = _statements[connection] = Statements(Transformer(connection))
    return statements


def prepared_run(
    connection: psycopg.Connection,
    query: str,
    arguments: list[Any],
    *,
    fetch: bool,
    commit: bool = False,
) -> tuple | None:
    """The query run as the statement prepared for it on this connection (prepared now at
    its first use), so PostgreSQL parses and plans it once per connection. The arguments go
    as text and take the types the statement gives its parameters. With `commit`, the
    COMMIT follows it in the same round trip."""
    statements = statements_of(connection)
    params = statements.transformer.dump_sequence(arguments, [PyFormat.TEXT] * len(arguments))
    result = prepared_execute(connection, statements, query, params, commit=commit)
    if result.status not in OK and stale(result):
        statements.names.clear()  # prepare them again at their next use
        if connection.autocommit:  # nothing ran and no transaction failed: run it again now
            result = prepared_execute(connection, statements, query, params, commit=commit)
    if result.status not in OK:
        raise failure(connection, result)
    if not fetch or not result.ntuples:
        return None
    statements.transformer.set_pgresult(result)
    return statements.transformer.load_row(0, tuple)


def prepared_execute(
    connection: psycopg.Connection,
    statements: Statements,
    query: str,
    params: Sequence[Any],
    *,
    commit: bool = False,
) -> pq.abc.PGresult:
    """The statement's result, or the first failure among it, the BEGIN psycopg's cursor
    would send before it (outside autocommit, as the transaction's first statement) and the
    COMMIT asked for: all of them go in one round trip."""
    with connection.lock:
        name = statements.names.get(query) or statement_prepare(
            connection, statements, query, len(params)
        )
        pgconn = connection.pgconn
        begin = not connection.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE
        if not begin and not commit:
            # (a None in params is a NULL, which libpq takes, whatever psycopg's hints say)
            return pgconn.exec_prepared(name, params)  # type: ignore[arg-type]
        sends: list[Callable[[], None]] = []
        if begin:
            sends.append(lambda: pgconn.send_query_params(connection._get_tx_start_command(), None))
        sends.append(lambda: pgconn.send_query_prepared(name, params))  # type: ignore[arg-type]
        if commit:  # (only ever asked inside atomic(), so a transaction is open or begins here)
            sends.append(lambda: pgconn.send_query_params(b"COMMIT", None))
        results = pipelined(connection, sends)
        failed = next((result for result in results if result.status not in OK), None)
        return failed or results[1 if begin else 0]


def pipelined(
    connection: psycopg.Connection, sends: Sequence[Callable[[], None]]
) -> list[pq.abc.PGresult]:
    """Runs the statements `sends` send in one libpq pipeline, one round trip, and returns
    their results. A statement after a failed one is not run (its result says so); the
    transaction the failure aborted stays open, failed, as it would without the pipeline."""
    if not PIPELINE_MODE:
        return one_by_one(connection, sends)
    pgconn = connection.pgconn
    pgconn.enter_pipeline_mode()
    try:
        for send in sends:
            send()
        pgconn.pipeline_sync()
        if pgconn.flush():  # (what the socket did not take at once)
            connection.wait(generators.send(pgconn))
        results = []
        for _ in sends:
            result = result_next(connection)
            if result is None:  # the connection is gone
                raise errors.OperationalError(pgconn.get_error_message(connection.info.encoding))
            results.append(result)
            result_next(connection)  # the None that ends each statement's results
        result_next(connection)  # the pipeline's end (PIPELINE_SYNC)
        return results
    finally:
        pipeline_leave(connection)


def result_next(connection: psycopg.Connection) -> pq.abc.PGresult | None:
    """The next result, waited for through psycopg's generator, which releases the GIL as
    exec_prepared does; a bare get_result() would hold it while the server works and stall
    the worker's other threads. One that has arrived is read at once."""
    pgconn = connection.pgconn
    if pgconn.is_busy():
        return connection.wait(generators.fetch(pgconn))
    return pgconn.get_result()


def one_by_one(
    connection: psycopg.Connection, sends: Sequence[Callable[[], None]]
) -> list[pq.abc.PGresult]:
    """pipelined() for a libpq without pipeline mode: a round trip each, up to a failure."""
    results = []
    for send in sends:
        send()
        connection.wait(generators.send(connection.pgconn))
        results.append(connection.wait(generators.fetch_many(connection.pgconn))[0])
        if results[-1].status not in OK:
            break
    return results


def pipeline_leave(connection: psycopg.Connection) -> None:
    """Ends pipeline mode; a connection that cannot leave it (results left unread by an
    interruption) is closed, so Django opens a new one instead of reusing it."""
    try:
        connection.pgconn.exit_pipeline_mode()
    except psycopg.Error:
        connection.pgconn.finish()


def stale(result: pq.abc.PGresult) -> bool:
    return result.error_field(pq.DiagnosticField.SQLSTATE) in STATEMENTS_STALE


def statement_prepare(
    connection: psycopg.Connection, statements: Statements, query: str, parameters: int
) -> bytes:
    name = f"stamps_{next(_statement_numbers)}".encode()
    # psycopg's placeholders to PostgreSQL's: %s becomes $1, $2...; %% stays a percent sign
    numbered = query % tuple(f"${number}" for number in range(1, parameters + 1))
    result = connection.pgconn.prepare(name, numbered.encode(connection.info.encoding))
    if result.status not in OK:
        raise failure(connection, result)
    statements.names[query] = name
    return name


def failure(connection: psycopg.Connection, result: pq.abc.PGresult) -> errors.Error:
    """The error psycopg's cursor raises for a failed statement: a lost connection (its
    result carries no SQLSTATE) is an OperationalError, as Django's handler expects."""
    if connection.pgconn.status == pq.ConnStatus.BAD:
        return errors.OperationalError(result.get_error_message(connection.info.encoding))
    return errors.error_from_result(result, encoding=connection.info.encoding)
