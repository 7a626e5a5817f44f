//! Prepared statements cached by type for queries diesel would key by their SQL text. diesel
//! finds a cached statement by the query's type when that type fixes the SQL; for the rest (an
//! upsert, for one) it rebuilds and hashes the SQL at every execution, which on the payment
//! writer's path costs more than running the statement; and it never caches an UPDATE (a
//! changeset may skip `None` columns, so diesel cannot know an UPDATE's SQL is fixed). Wrapping
//! such a query in [`FixedShape`] with a marker type of its own states that its SQL never varies,
//! so the type can name it and its statement can be kept.
//!
//! A caveat, measured: diesel passes a reference to the query when it asks whether the statement
//! may be cached, and a reference answers by walking the query, not through `FixedShape`'s
//! override. So an UPDATE or a raw `sql_query` (which mark themselves uncacheable as they are
//! walked) is still prepared at every execution inside `FixedShape`; only a query whose own walk
//! stays cacheable (a SELECT with a `LIMIT +?`) gains. A statement that must be prepared once is
//! written out as fixed SQL with typed binds (`fines/statements.rs`, and the PostgreSQL bulk statements beside their tables).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};
use std::marker::PhantomData;

/// `query`, cached under `Id`. Only for a query whose SQL is the same at every call (no
/// optional columns rendered as `DEFAULT` or skipped, no lists of varying length, no bound
/// `LIMIT`): one `Id` per call site.
pub(super) struct FixedShape<Q, Id> {
    query: Q,
    id: PhantomData<Id>,
}

impl<Q, Id> FixedShape<Q, Id> {
    pub(super) fn new(query: Q) -> Self {
        FixedShape { query, id: PhantomData }
    }
}

impl<Q, Id: 'static> QueryId for FixedShape<Q, Id> {
    type QueryId = Id;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: QueryFragment<DB>, Id, DB: Backend> QueryFragment<DB> for FixedShape<Q, Id> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Id, Conn> RunQueryDsl<Conn> for FixedShape<Q, Id> {}

/// So a wrapped query that returns rows (a `SELECT`, an `UPDATE … RETURNING`) can be loaded.
impl<Q: Query, Id> Query for FixedShape<Q, Id> {
    type SqlType = Q::SqlType;
}
