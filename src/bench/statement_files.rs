//! The statements `bench import` reads: a CSV in the documented format and a camt.053.001.08 with
//! entries shaped as a Chinese bank writes them, each line paying one distinct seeded fine the exact
//! amount. Half the lines name the fine by its bare decision number in free text, half by its RF
//! reference (camt: in `Strd/CdtrRefInf/Ref`), so both searches of the importer run.

use crate::domain::DecisionNo;
use crate::domain::rf_reference::rf_for_decision;
use crate::domain::time::SHANGHAI;
use chrono::{DateTime, Utc};
use std::io::{BufWriter, Write};
use std::path::Path;

/// One statement line's facts: entry `i` pays `fine` 200 yuan, booked at `booked_at`.
struct Line<'a> {
    i: usize,
    fine: &'a DecisionNo,
    booked_at: &'a str,
    booked_on: &'a str,
}

impl Line<'_> {
    fn entry_ref(&self) -> String {
        format!("CCB{}{:08}", self.booked_on.replace('-', ""), self.i)
    }

    /// Even lines carry the RF reference, odd ones the bare number in a payer's words.
    fn by_rf(&self) -> bool {
        self.i.is_multiple_of(2)
    }
}

/// Writes both files for `fines`, one line each.
pub(super) fn write(fines: &[DecisionNo], now: DateTime<Utc>, csv: &Path, camt: &Path) -> anyhow::Result<()> {
    let mut csv_out = BufWriter::with_capacity(1 << 20, std::fs::File::create(csv)?);
    let mut camt_out = BufWriter::with_capacity(1 << 20, std::fs::File::create(camt)?);
    csv_out.write_all(b"entry_ref,booked_at,amount_fen,direction,status,reversal,transaction_ref,reference\n")?;
    let today = now.with_timezone(&SHANGHAI).date_naive();
    camt_out.write_all(camt_head(&today.to_string(), fines.len()).as_bytes())?;
    // Booked between midnight and now, today: the day after the fines' issue, so no surcharge.
    let start_of_day = today.and_hms_opt(0, 0, 0).unwrap_or_default();
    let span =
        usize::try_from((now.with_timezone(&SHANGHAI).naive_local() - start_of_day).num_seconds().max(1)).unwrap_or(1);
    let booked_on = today.to_string();
    for (i, fine) in fines.iter().enumerate() {
        let seconds = i64::try_from(i % span).unwrap_or(0);
        let booked_at = (start_of_day + chrono::Duration::seconds(seconds)).format("%Y-%m-%dT%H:%M:%S+08:00");
        let booked_at = booked_at.to_string();
        let line = Line { i, fine, booked_at: &booked_at, booked_on: &booked_on };
        csv_row(&mut csv_out, &line)?;
        camt_entry(&mut camt_out, &line)?;
    }
    camt_out.write_all(b"</Stmt>\n</BkToCstmrStmt>\n</Document>\n")?;
    csv_out.flush()?;
    camt_out.flush()?;
    Ok(())
}

fn csv_row(out: &mut impl Write, line: &Line<'_>) -> std::io::Result<()> {
    let reference = if line.by_rf() {
        format!("Traffic fine {}", rf_for_decision(line.fine))
    } else {
        // A payer's free text with a comma in it, quoted as RFC 4180 says.
        format!("\"交通罚款 {}, 张三\"", line.fine)
    };
    writeln!(out, "{},{},20000,C,BOOK,,CN{:012},{reference}", line.entry_ref(), line.booked_at, line.i)
}

fn camt_head(day: &str, entries: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<BkToCstmrStmt>
<GrpHdr><MsgId>CCB{compact}053000001</MsgId><CreDtTm>{day}T23:59:59+08:00</CreDtTm><MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn></GrpHdr>
<Stmt>
<Id>STMT-110060224018010034567-{compact}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{day}T23:59:59+08:00</CreDtTm>
<FrToDt><FrDtTm>{day}T00:00:00+08:00</FrDtTm><ToDtTm>{day}T23:59:59+08:00</ToDtTm></FrToDt>
<Acct><Id><Othr><Id>110060224018010034567</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id><Ccy>CNY</Ccy><Nm>北京市公安局公安交通管理局罚没款专户</Nm><Svcr><FinInstnId><BICFI>PCBCCNBJXXX</BICFI></FinInstnId></Svcr></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">1520400.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
<TxsSummry><TtlNtries><NbOfNtries>{entries}</NbOfNtries></TtlNtries></TxsSummry>
"#,
        compact = day.replace('-', "")
    )
}

fn camt_entry(out: &mut impl Write, line: &Line<'_>) -> std::io::Result<()> {
    let entry_ref = line.entry_ref();
    let remittance = if line.by_rf() {
        format!(
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp><Ref>{}</Ref></CdtrRefInf></Strd>",
            rf_for_decision(line.fine)
        )
    } else {
        format!("<Ustrd>交通违法罚款 决定书编号{} 张三</Ustrd>", line.fine)
    };
    writeln!(
        out,
        "<Ntry><NtryRef>{n}</NtryRef><Amt Ccy=\"CNY\">200.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><DtTm>{booked_at}</DtTm></BookgDt><ValDt><Dt>{booked_on}</Dt></ValDt><AcctSvcrRef>{entry_ref}</AcctSvcrRef>\
         <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>\
         <NtryDtls><TxDtls><Refs><AcctSvcrRef>{entry_ref}</AcctSvcrRef><EndToEndId>E2E{i:016}</EndToEndId></Refs>\
         <Amt Ccy=\"CNY\">200.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
         <RltdPties><Dbtr><Pty><Nm>张三</Nm></Pty></Dbtr><DbtrAcct><Id><Othr><Id>6222020200{i:09}</Id></Othr></Id></DbtrAcct></RltdPties>\
         <RltdAgts><DbtrAgt><FinInstnId><BICFI>ICBKCNBJXXX</BICFI></FinInstnId></DbtrAgt></RltdAgts>\
         <RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>",
        n = line.i + 1,
        i = line.i,
        booked_at = line.booked_at,
        booked_on = line.booked_on,
    )
}
