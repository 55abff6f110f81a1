//! Scheduled work of invest-crm (DESIGN §5): nightly analytics with polars, the weekly report and the mail outbox.
//! Nothing is scheduled yet; the jobs arrive with the analytics and report issues.
