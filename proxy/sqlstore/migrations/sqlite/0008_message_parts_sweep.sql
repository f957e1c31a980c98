-- voiceproxy schema, version 8 (SQLite): the data lifecycle.
-- Parts of multipart SMS are stored before any routing and kept until a
-- sibling arrives; the sweep now deletes those that can no longer
-- complete, by when they were received: this index finds them.
CREATE INDEX vp_message_parts_received ON vp_message_parts (received_at);
-- Pseudonymization now empties the participants' labels, which may name
-- them; conversations pseudonymized before this version lose theirs now.
UPDATE vp_conversations SET a_label = '', b_label = ''
	WHERE substr(a_number, 1, 5) = 'anon-' AND (a_label <> '' OR b_label <> '');
