-- voiceproxy schema, version 4 (SQLite): shared-number (PIN) conversations.
-- A conversation with a pin holds no legs: both participants reach each
-- other through a_proxy (= b_proxy) and its pin. Among active-status PIN
-- conversations, (a_proxy, pin) is unique; holders whose deadline passed
-- are expired by the insert that wants their PIN.
ALTER TABLE vp_conversations ADD COLUMN pin text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX vp_conversations_pin ON vp_conversations (a_proxy, pin) WHERE pin <> '' AND status = 'active';
CREATE INDEX vp_conversations_pin_a ON vp_conversations (a_number, a_proxy) WHERE pin <> '';
CREATE INDEX vp_conversations_pin_b ON vp_conversations (b_number, b_proxy) WHERE pin <> '';
