"""Report writers for the chat-log audit: terminal summary, JSON, single-file HTML and XLSX.

Every writer masks personal data (phone, ID-card and bank-card numbers, house numbers) in message
texts and matched texts unless called with `mask_pii=False`.
"""

from kefuguard.io.reports.html_report import render_html, write_html
from kefuguard.io.reports.json_report import report_dict, write_json
from kefuguard.io.reports.terminal import print_summary
from kefuguard.io.reports.xlsx_report import write_xlsx

__all__ = ["print_summary", "render_html", "report_dict", "write_html", "write_json", "write_xlsx"]
