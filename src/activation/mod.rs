//! Activation (`activation.md`): CSV export, Meta Custom Audiences payloads, signed webhooks.
