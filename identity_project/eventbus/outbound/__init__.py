"""What leaves the platform (e-mails, webhooks, identity's mails) goes through this one mechanism.

A channel (channel.py) says how to send one record of its own table and under which retry policy;
everything else is here, once:

- the record (records.py): an abstract model each channel's table inherits: status, attempts,
  next attempt, lease, last error, and one attempt row per try, kept;
- the sender (sender.py): claim by a conditional UPDATE that takes a lease and a claim token,
  send under a total deadline shorter than the lease, conclude by conditional UPDATEs that only
  the holder of the claim can make (an attempt that outlived its lease changes nothing), retry
  with backoff and jitter, dead-letter under the channel's name;
- sending again (resend.py): a send asked for again, the dead letters' replay, the sweep;
- one task (`eventbus.outbound.send`) and one sweep (`eventbus.outbound.sweep`) for every channel.

A record is written in the transaction that decides to send it (a consumer's) and sent only
after that transaction commits, by the worker that committed it. What a web request asks for
(sending again, a dead letter's replay) leaves as a send task through the outbox: a request never
talks to a mail server, a receiver or the broker.
"""
