"""Research studies and matching with consent to contact (issue 15): researchers post studies, patients who opted in
keep a private research profile and see the studies they may fit; nothing about them reaches a researcher until
they press "contact me"."""
