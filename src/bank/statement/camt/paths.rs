//! Where in a camt document a value sits: the element names this reader knows, and the path from
//! `Document` down to each value it keeps, written once for both messages and all versions.

use super::super::Format;

/// The elements this reader looks at; every other one is `Other`, as is any element outside the
/// document's camt namespace. `Root` and `Report` stand for the message's own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    Document,
    Root,
    Report,
    Acct,
    Id,
    Iban,
    Othr,
    Ntry,
    Amt,
    CdtDbtInd,
    RvslInd,
    Sts,
    Cd,
    BookgDt,
    ValDt,
    Dt,
    DtTm,
    AcctSvcrRef,
    NtryRef,
    NtryDtls,
    TxDtls,
    Refs,
    TxId,
    EndToEndId,
    RmtInf,
    Ustrd,
    Strd,
    CdtrRefInf,
    Ref,
    Other,
}

pub(super) fn tag(format: Format, local: &[u8]) -> Tag {
    use Tag::*;
    match local {
        b"Document" => Document,
        b"BkToCstmrStmt" if format == Format::Camt053 => Root,
        b"BkToCstmrDbtCdtNtfctn" if format == Format::Camt054 => Root,
        b"Stmt" if format == Format::Camt053 => Report,
        b"Ntfctn" if format == Format::Camt054 => Report,
        b"Acct" => Acct,
        b"Id" => Id,
        b"IBAN" => Iban,
        b"Othr" => Othr,
        b"Ntry" => Ntry,
        b"Amt" => Amt,
        b"CdtDbtInd" => CdtDbtInd,
        b"RvslInd" => RvslInd,
        b"Sts" => Sts,
        b"Cd" => Cd,
        b"BookgDt" => BookgDt,
        b"ValDt" => ValDt,
        b"Dt" => Dt,
        b"DtTm" => DtTm,
        b"AcctSvcrRef" => AcctSvcrRef,
        b"NtryRef" => NtryRef,
        b"NtryDtls" => NtryDtls,
        b"TxDtls" => TxDtls,
        b"Refs" => Refs,
        b"TxId" => TxId,
        b"EndToEndId" => EndToEndId,
        b"RmtInf" => RmtInf,
        b"Ustrd" => Ustrd,
        b"Strd" => Strd,
        b"CdtrRefInf" => CdtrRefInf,
        b"Ref" => Ref,
        _ => Other,
    }
}

/// A value this reader keeps, named by the element holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Account,
    Amount,
    Direction,
    Reversal,
    Status,
    BookingDate,
    BookingTime,
    ValueDate,
    ValueTime,
    AcctSvcrRef,
    NtryRef,
    TxId,
    EndToEndId,
    CreditorRef,
    Unstructured,
}

/// The field at `path`, from the document element down. Both spellings of the status are here:
/// `<Sts>BOOK</Sts>` up to .08, `<Sts><Cd>BOOK</Cd></Sts>` from .09. A batch entry has a `TxDtls`
/// per transaction: their references are all collected, the entry's amount is the line's.
pub(super) fn field_at(path: &[Tag]) -> Option<Field> {
    use Tag::*;
    let [Document, Root, Report, within @ ..] = path else { return None };
    Some(match within {
        [Acct, Id, Iban] | [Acct, Id, Othr, Id] => Field::Account,
        [Ntry, Amt] => Field::Amount,
        [Ntry, CdtDbtInd] => Field::Direction,
        [Ntry, RvslInd] => Field::Reversal,
        [Ntry, Sts] | [Ntry, Sts, Cd] => Field::Status,
        [Ntry, BookgDt, Dt] => Field::BookingDate,
        [Ntry, BookgDt, DtTm] => Field::BookingTime,
        [Ntry, ValDt, Dt] => Field::ValueDate,
        [Ntry, ValDt, DtTm] => Field::ValueTime,
        [Ntry, AcctSvcrRef] => Field::AcctSvcrRef,
        [Ntry, NtryRef] => Field::NtryRef,
        [Ntry, NtryDtls, TxDtls, Refs, TxId] => Field::TxId,
        [Ntry, NtryDtls, TxDtls, Refs, EndToEndId] => Field::EndToEndId,
        [Ntry, NtryDtls, TxDtls, RmtInf, Strd, CdtrRefInf, Ref] => Field::CreditorRef,
        [Ntry, NtryDtls, TxDtls, RmtInf, Ustrd] => Field::Unstructured,
        _ => return None,
    })
}

pub(super) fn is_entry(path: &[Tag]) -> bool {
    matches!(path, [Tag::Document, Tag::Root, Tag::Report, Tag::Ntry])
}
