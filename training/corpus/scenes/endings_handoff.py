"""Hand-written ending scenes for hand-off outcomes: escalated, transferred, callback_scheduled.

Each scene is a tuple of ``(speaker, text)`` lines, speaker one of ``agent``, ``customer``, ``system``.
Scenes are grouped by outcome and by the customer's sentiment at the end of the scene. Slots in braces
are filled by :mod:`training.corpus.dialogue`. Plain data; no randomness.
"""

from __future__ import annotations

ENDINGS_HANDOFF: dict[str, dict[str, tuple[tuple[tuple[str, str], ...], ...]]] = {
    "escalated": {
        "negative": (
            (
                (
                    "agent",
                    "I've tried resetting the payment twice and it keeps bouncing back, so there's nothing "
                    "more I can do on this screen.",
                ),
                ("agent", "I'm sending it up to {team} with everything we've tried. Your reference is {ticket}."),
                ("customer", "So forty minutes on the phone and I leave with a reference number. Great."),
            ),
            (
                ("customer", "I want to speak to a manager. Now, please."),
                (
                    "agent",
                    "I understand. There's no manager free to take the call, but I've logged a formal "
                    "escalation, {ticket}, and one of them will review it personally.",
                ),
                ("customer", "That's not what I asked for. But fine, I clearly don't have a choice."),
            ),
            (
                ("agent", "Bear with me, I'm bringing my supervisor into the chat."),
                ("system", "Supervisor Dana R. joined the conversation"),
                (
                    "agent",
                    "Hi, Dana here, I've read through everything. I can't reverse the charge from here, "
                    "but I've opened an investigation under {ticket} and the payments team will come back to you.",
                ),
                ("customer", "An investigation. For a charge you took twice. Unbelievable."),
            ),
            (
                ("agent", "Okay, that's all done on my side now."),
                ("agent", "It'll sit with {team} for review and they make the final call on the refund."),
                ("customer", "Done on your side. So in other words nothing's actually done."),
            ),
            (
                (
                    "agent",
                    "I've forwarded your written complaint to customer relations as it stands, with the "
                    "photos attached.",
                ),
                ("agent", "They aim to respond within ten working days, and the reference for it is {ticket}."),
                ("customer", "Ten working days. I'll believe it when I see it."),
            ),
            (
                (
                    "agent",
                    "Because you didn't make those transactions, this has to go to the fraud team. I've "
                    "raised it as {ticket}.",
                ),
                ("customer", "And in the meantime my {amount} is just gone? Brilliant."),
            ),
            (
                ("customer", "This is the third time I've been told someone will look into it."),
                (
                    "agent",
                    "I hear you, and I'm sorry. This time it's logged with {team} under {ticket} and I've "
                    "marked it as urgent.",
                ),
                ("customer", "Heard that one before."),
            ),
            (
                (
                    "agent",
                    "The claim for the {product} is open now, {ticket}. The claims team need to confirm it "
                    "with the courier before we can refund.",
                ),
                ("customer", "So I'm out {amount} until some courier decides I'm not lying. Lovely."),
            ),
            (
                ("agent", "Ref {ticket}. Escalations will review and reply by email."),
                ("customer", "don't care anymore honestly"),
            ),
            (
                (
                    "agent",
                    "I'm sorry, the system won't let me override the price match. I've put in a request "
                    "for my manager to approve it, case {ticket}.",
                ),
                ("customer", "You'd think a company this size could fix a price in one call."),
                ("customer", "Fine, I'll wait for them I suppose."),
            ),
            (
                ("agent", "I've added a note so {team} can see the whole history."),
                ("customer", "Why can't you just do it yourself?"),
                (
                    "agent",
                    "I genuinely don't have the access for closing accounts with a balance, it needs their sign-off.",
                ),
                ("customer", "Of course it does."),
            ),
            (
                ("system", "Case {ticket} escalated to Tier 2 by {agent}"),
                ("agent", "That's with our tier two engineers now. They'll pick it up in the order it came in."),
                ("customer", "In the order it came in. So I'm at the back of a queue again."),
            ),
            (
                ("customer", "I'm not hanging up until someone senior deals with this."),
                (
                    "agent",
                    "I've passed it up to {team} and flagged it as a complaint about how it was handled. "
                    "They'll be the ones contacting you, not me.",
                ),
                ("customer", "If I hear nothing this week I'm going to my bank."),
            ),
            (
                ("agent", "So the replacement failed as well, which means this is now beyond what I can authorise."),
                (
                    "agent",
                    "I've referred it to a team lead along with both order numbers, and they'll decide "
                    "whether we refund instead.",
                ),
                ("customer", "Two broken ones and now a committee. Great service."),
            ),
            (
                ("agent", "Your case is with {team}. The reference to quote is {ticket}."),
                ("customer", "I guess I'll just wait. again."),
            ),
            (
                ("customer", "So who actually fixes this, because it's clearly not you."),
                (
                    "agent",
                    "It'll be our account security specialists. I've handed it over with everything you "
                    "told me, and the case number is {ticket}.",
                ),
                ("customer", "Another team I'll never speak to."),
            ),
            (
                (
                    "agent",
                    "okay so what I've done is I've put it through as a formal complaint, and that goes to {team}",
                ),
                ("agent", "they'll review the call recordings and get back to you with an outcome"),
                ("customer", "yeah well they can listen to how long I was kept waiting while they're at it"),
            ),
            (
                ("agent", "I did manage to fix the address on the account, so that part's sorted."),
                (
                    "agent",
                    "The missing {amount} though, I've had to raise with our billing investigations team, "
                    "case {ticket}.",
                ),
                ("customer", "So half fixed. The half that costs me money is still open."),
            ),
            (
                ("system", "*** Escalation created: {ticket} | Queue: Supervisor Review ***"),
                ("agent", "A supervisor will look at that and decide on the compensation."),
                ("customer", "You do realise I've been a customer for eight years."),
                ("agent", "I do, and I've written that in the notes for them."),
                ("customer", "Doesn't seem to count for much."),
            ),
            (
                ("customer", "Escalate it then. Since that's apparently all anyone here can do."),
                ("agent", "It's under {ticket} with {team} now."),
            ),
            (
                (
                    "agent",
                    "I'm not able to waive the cancellation fee, but I've submitted a fee review to my "
                    "manager with your circumstances.",
                ),
                ("customer", "A review. Of a fee you shouldn't have charged in the first place."),
                ("agent", "It's reference {ticket} if you need to chase it."),
                ("customer", "Oh, I will be chasing it."),
            ),
            (
                ("agent", "Right, I've sent the photos to our quality team and logged it as a product safety report."),
                ("agent", "They have to investigate before anyone can talk to you about compensation."),
                ("customer", "My kid could have been hurt by that {product} and I'm getting a report number. Unreal."),
            ),
            (
                ("customer", "Can I at least talk to whoever's making the decision?"),
                (
                    "agent",
                    "Not directly, unfortunately. The disputes team work by email, and they'll write to "
                    "you once they've reviewed {ticket}.",
                ),
                ("customer", "Convenient for them."),
            ),
            (
                ("agent", "Good news is I've got it escalated, {ticket}, and {team} should pick it up."),
                ("customer", "Should. Really filling me with confidence there."),
            ),
            (
                ("agent", "My team leader has taken over the case and she'll own it from here."),
                ("agent", "She's asked the warehouse to check the stock count before promising you anything."),
                ("customer", "So still no date for my order. Got it."),
            ),
            (
                ("customer", "I sent a letter two weeks ago and nobody answered it."),
                (
                    "agent",
                    "I can see it came in. I've moved it to the complaints manager's queue and attached "
                    "today's call to it as well.",
                ),
                ("customer", "Moved it to another queue. Well, that's something, I suppose."),
            ),
            (
                ("agent", "I've raised this with {team} as {ticket}."),
                ("agent", "Is there anything else I can help with today?"),
                ("customer", "No. You haven't helped with this, so I don't see why you'd help with anything else."),
            ),
            (
                (
                    "agent",
                    "I'll be honest with you, the refund has been stuck since {date} and I can't see why, "
                    "so I've asked {team} to dig into it. Reference {ticket}.",
                ),
                ("customer", "Since {date}. And nobody noticed until I called."),
                ("customer", "I'll wait to hear from them, not that I expect to."),
            ),
        ),
        "neutral": (
            (
                ("agent", "I've logged this with {team} under {ticket}. They'll review it and contact you directly."),
                ("customer", "Ok, noted."),
            ),
            (
                ("agent", "This one needs a manager's approval, so I've passed it on with my notes."),
                ("customer", "Do I need to do anything in the meantime?"),
                ("agent", "Nothing at all, they'll reach out to you once it's been looked at."),
                ("customer", "Clear enough."),
            ),
            (
                ("system", "[Ticket {ticket} assigned to Escalations]"),
                ("agent", "That's assigned now. They usually pick these up within a couple of days."),
                ("customer", "okay"),
            ),
            (
                ("customer", "Can I get the reference number for that?"),
                ("agent", "Sure, it's {ticket}. That's the case the fraud team will be working from."),
                ("customer", "Got it, I've written it down."),
            ),
            (
                (
                    "agent",
                    "Just so you know what happens next: the specialist team reviews the account, then "
                    "they'll email you with their decision.",
                ),
                ("customer", "And the reference?"),
                ("agent", "{ticket}."),
            ),
            (
                (
                    "agent",
                    "I've sorted out the delivery address, and I've also raised the damaged parcel with "
                    "our claims team as {ticket}.",
                ),
                ("agent", "The claim part is theirs to decide now."),
                ("customer", "Alright, I'll keep an eye out for their email."),
            ),
            (
                ("agent", "so I've referred that up to {team}, they'll look into why the discount didn't apply"),
                ("customer", "ok so I just wait to hear from them"),
                ("agent", "that's right, it's case {ticket}"),
                ("customer", "ok thank you"),
            ),
            (
                ("customer", "I'd like this handled by someone more senior, please."),
                ("agent", "Certainly. I've forwarded it to a team lead and added that you asked for a senior review."),
                ("customer", "I'll wait for them then, thanks."),
            ),
            (
                (
                    "agent",
                    "Your written complaint has been forwarded to customer relations. You'll get an "
                    "acknowledgement letter first, then the full response.",
                ),
                ("customer", "Noted."),
            ),
            (
                (
                    "agent",
                    "It's not something I'm able to change myself, because it involves the terms of the "
                    "{plan}. I've raised it with the accounts team, {ticket}.",
                ),
                ("customer", "How will they contact me?"),
                ("agent", "By email to the address on your account."),
                ("customer", "Ok, that's fine."),
            ),
            (
                ("system", "Supervisor Mark joined the chat."),
                (
                    "agent",
                    "Hi, I'm Mark, the shift supervisor. I'll take it from here and follow up with the "
                    "warehouse myself.",
                ),
                ("agent", "I've put it under {ticket} so you can reference it."),
                ("customer", "ok, thanks Mark."),
            ),
            (
                ("agent", "I've marked the transaction as disputed and sent it to our investigations team."),
                ("customer", "How long do those usually take?"),
                ("agent", "Typically five to ten working days, and they'll write to you with the outcome."),
                ("customer", "Right, okay."),
            ),
            (
                ("customer", "so what happens now"),
                ("agent", "Now it goes to {team}. You'll hear from them, not from us."),
                ("customer", "k"),
            ),
            (
                (
                    "agent",
                    "I did try to reprocess the refund but it came back with the same error, so I've "
                    "opened {ticket} for the payments team.",
                ),
                ("customer", "I'll wait for them to get in touch, then."),
            ),
            (
                ("agent", "Okay, that's been sent across. I've included your preferred contact time in the notes."),
                ("customer", "Is there a reference?"),
                ("agent", "It's {ticket}, and the case owner will be someone from {team}."),
            ),
            (
                ("customer", "I don't want to argue about it with you, just pass it on to whoever decides."),
                (
                    "agent",
                    "I've passed it on to my manager with the full details. They'll review the warranty decision.",
                ),
                ("customer", "Ok, good."),
            ),
            (
                ("agent", "The account's been locked for your safety and the security team now have the case."),
                (
                    "agent",
                    "They'll verify a few things with you before anything is unlocked; the reference is {ticket}.",
                ),
                ("customer", "Alright, understood."),
            ),
            (
                ("agent", "Everything's been noted on the case and it's been forwarded to {team} for a final review."),
                ("customer", "Fine by me."),
            ),
            (
                (
                    "customer",
                    "Look, I'm not going to pretend I understand how your refunds work, I just need "
                    "someone to check whether it went to the old card or not, and if you can't see that then I "
                    "guess someone else has to.",
                ),
                (
                    "agent",
                    "That's exactly it, I can't see the bank side, so I've asked our payments team to "
                    "trace it. Case {ticket}.",
                ),
                ("customer", "Makes sense."),
            ),
            (
                ("system", "Status changed: Open -> Escalated (Claims)"),
                (
                    "agent",
                    "That's the claim with the carrier liaison now. Keep hold of the packaging until "
                    "they've been in touch.",
                ),
                ("customer", "Will do."),
            ),
            (
                (
                    "agent",
                    "So I can't promise the outcome, but your request is with a specialist and it's in "
                    "their queue as {ticket}.",
                ),
                ("customer", "Understood, thanks for explaining."),
            ),
            (
                (
                    "agent",
                    "I'm going to let my supervisor take over the case from here, she has more authority "
                    "on compensation.",
                ),
                ("agent", "She'll be the one who contacts you, and it's saved under {ticket}."),
                ("customer", "What's her name, in case I need to ask for her?"),
                ("agent", "It's Priya, on the resolutions team."),
            ),
            (
                ("customer", "Is this the part where you give me a number and someone else looks at it?"),
                ("agent", "Pretty much, yes. {ticket}, and it's {team} who'll look at it."),
                ("customer", "Alright then."),
            ),
            (
                (
                    "agent",
                    "I've submitted it to our pricing team to review whether the promotion should have "
                    "applied to order {order}.",
                ),
                ("customer", "Do they call or email?"),
                ("agent", "Email, usually."),
                ("customer", "Fine, I'll check my inbox."),
            ),
            (
                (
                    "agent",
                    "Your report about the courier has been escalated to the logistics desk and logged as {ticket}.",
                ),
                ("agent", "They handle driver conduct complaints directly with the carrier."),
                ("customer", "Right, that's the proper place for it then."),
            ),
            (
                (
                    "agent",
                    "I've raised an escalation for the missing item, and someone from the warehouse team "
                    "has to check the packing footage.",
                ),
                ("customer", "Let me know what they find."),
                ("agent", "They'll email you directly, reference {ticket}."),
            ),
            (
                ("agent", "right I've had a word with my manager and she's going to take it from here"),
                ("agent", "she just needs to check with finance before she can confirm anything"),
                ("customer", "okay no problem"),
            ),
            (
                ("customer", "Please make sure the note says I've already sent the photos."),
                ("agent", "It does. I've put that at the top, and the case has gone to the damages team as {ticket}."),
                ("customer", "Good. That's all then."),
            ),
        ),
        "positive": (
            (
                (
                    "agent",
                    "I've escalated this to {team} and marked it as a priority. Your case number there is {ticket}.",
                ),
                ("customer", "Thank you so much, I really appreciate you taking it seriously."),
            ),
            (
                ("agent", "My supervisor's going to take it from here, she'll push for the refund to be approved."),
                ("customer", "Oh that's a relief, thank you."),
                ("agent", "Not at all. She'll be in touch once it's been reviewed."),
            ),
            (
                ("system", "Escalation {ticket} created - assigned to Customer Relations"),
                ("customer", "Brilliant, at last someone's actually going to look at it. Thanks {agent}."),
            ),
            (
                ("agent", "I've written everything up for the fraud team so you won't have to explain it all again."),
                ("agent", "They'll reach out to you, and the case is {ticket}."),
                ("customer", "That's so helpful, honestly. Thank you."),
            ),
            (
                ("agent", "Okay, that's all sorted from my side."),
                ("agent", "It's gone through to the accounts team for a final review, they just need to sign it off."),
                ("customer", "Perfect, thanks for pushing it through."),
            ),
            (
                ("customer", "I know it's not your fault, I just want someone with authority to look at it."),
                ("agent", "Absolutely, and that's in hand. I've passed it to a team lead and they'll contact you."),
                ("customer", "Thank you, that's all I wanted."),
            ),
            (
                (
                    "agent",
                    "So I couldn't get the replacement to ship, but I've raised it with the warehouse team "
                    "as {ticket} and asked them to expedite it.",
                ),
                ("customer", "That's great, thank you for trying so hard."),
                ("agent", "No problem at all."),
            ),
            (
                ("agent", "so I've passed that on to our specialist team and I've put a note on to say it's urgent"),
                ("customer", "oh lovely thank you so much, I was really worried about that"),
            ),
            (
                ("agent", "I've forwarded your letter on to our complaints manager."),
                ("agent", "Someone from that office will respond in writing."),
                ("customer", "Thanks, I'm glad it's finally with the right person."),
            ),
            (
                ("customer", "Honestly I was ready to give up, so thank you for escalating it."),
                ("agent", "It's the least I could do. Reference {ticket}, in case you need it."),
                ("customer", "Got it, cheers."),
            ),
            (
                ("system", "Team Lead Andre has joined the chat"),
                (
                    "agent",
                    "Hi, Andre here. I've gone through the thread and I'll take ownership of this one. "
                    "I'm raising it with the carrier liaison team myself.",
                ),
                ("customer", "Thank you Andre, that's really reassuring."),
            ),
            (
                ("agent", "The claim is logged, {ticket}. The claims team will review the photos and get back to you."),
                ("customer", "Fantastic, you've been really helpful."),
            ),
            (
                (
                    "agent",
                    "I've managed to fix the login, and I've sent the billing error to {team} to "
                    "investigate separately.",
                ),
                ("customer", "Oh great, so at least I can get in now. Thanks a lot."),
                ("agent", "They'll email you about the billing part under {ticket}."),
            ),
            (
                ("customer", "Can you make sure a manager sees this?"),
                (
                    "agent",
                    "Yes, I've raised it directly with my manager, and I've included your comments word for word.",
                ),
                ("customer", "Amazing, thank you. I feel like I've actually been heard."),
            ),
            (
                ("agent", "escalated to tier 2, ref {ticket}"),
                ("customer", "ty!! appreciate it"),
            ),
            (
                (
                    "agent",
                    "Because the amount is over my limit, the refund goes to my supervisor for approval. "
                    "I've recommended it goes through.",
                ),
                ("customer", "That's really kind of you, thank you."),
            ),
            (
                ("agent", "Your case is now with {team}. They're really good with this kind of thing."),
                ("customer", "Great, I'll look out for them. Thanks for all your help today."),
            ),
            (
                (
                    "agent",
                    "I've opened an investigation with the fraud team and blocked the card in the "
                    "meantime, so no more charges can go through.",
                ),
                ("customer", "Oh thank goodness. Thank you so much."),
                ("agent", "They'll contact you about the disputed payments, reference {ticket}."),
                ("customer", "Perfect."),
            ),
            (
                ("customer", "So someone from the specialist team will deal with it?"),
                ("agent", "That's right. They'll take it from here and keep you updated."),
                ("customer", "Thanks, you've been a star."),
            ),
            (
                (
                    "customer",
                    "I've been going back and forth with this for weeks and you're the first person "
                    "who's actually written it all down and sent it somewhere, so honestly, thank you.",
                ),
                ("agent", "I'm glad I could help. It's with {team} now under {ticket}."),
            ),
            (
                ("agent", "I've asked our technical team to look at why the app keeps crashing on your account."),
                ("agent", "They'll need a couple of days to investigate; the ticket is {ticket}."),
                ("customer", "No worries at all, that's great. Thanks for your patience with me."),
            ),
            (
                ("system", "[Case {ticket} forwarded to: Product Safety]"),
                ("agent", "That's gone to product safety, they take these very seriously."),
                ("customer", "Good, I'm glad, thank you."),
            ),
            (
                (
                    "agent",
                    "I'm gonna pop this over to my team leader because I think you deserve a bit more "
                    "than a voucher here",
                ),
                ("customer", "aw that's really nice of you, thanks"),
            ),
            (
                (
                    "agent",
                    "I've attached the bank statement you sent and escalated the duplicate charge. It'll "
                    "be reviewed by {team}.",
                ),
                ("customer", "Thank you, that was a lot easier than I expected!"),
            ),
            (
                ("customer", "Happy for it to go to a manager if that's quicker."),
                ("agent", "It is, usually. I've sent it to my manager now and she'll review it {day}."),
                ("customer", "Lovely, thank you."),
            ),
            (
                (
                    "agent",
                    "Just to confirm, the warranty claim is with our repairs specialists and they'll "
                    "arrange the next steps with you.",
                ),
                ("customer", "Wonderful. Thanks for making it so painless."),
            ),
            (
                (
                    "agent",
                    "I'll be honest, I can't approve that, but I've made a really strong case to the "
                    "resolutions team for you.",
                ),
                ("customer", "I appreciate that, genuinely. Fingers crossed."),
                ("agent", "The case number is {ticket}."),
            ),
            (
                (
                    "agent",
                    "Right, I've flagged the price error to our pricing team and logged your order {order} "
                    "against it so they can honour the advertised price.",
                ),
                ("customer", "Oh brilliant, thank you. That's more than I expected."),
            ),
        ),
    },
    "transferred": {
        "negative": (
            (
                ("agent", "This is one for billing, I'm going to transfer you now."),
                ("customer", "Seriously? I've already been transferred twice."),
                ("system", "Call transferred -> Billing Dept"),
            ),
            (
                ("agent", "Please hold while I put you through to the returns department."),
                ("customer", "fine"),
                ("system", "Transferring call to queue: RETURNS"),
            ),
            (
                ("customer", "Am I going to have to explain all this again?"),
                (
                    "agent",
                    "I've added notes, but they may need to confirm a few details with you. Putting you through now.",
                ),
                ("customer", "Of course they will."),
                ("system", "*** Call transferred ***"),
            ),
            (
                ("system", "Agent {agent} has left the conversation"),
                ("system", "You are now connected with Hannah (Returns)"),
                (
                    "customer",
                    "Hi Hannah. I've been passed around for half an hour so please tell me you can actually help.",
                ),
            ),
            (
                (
                    "agent",
                    "I can't see payment details from this department, you'll need our payments team. "
                    "I'll transfer you.",
                ),
                ("customer", "Why did the menu send me to you then?"),
                ("system", "[Transfer initiated > Payments]"),
            ),
            (
                (
                    "agent",
                    "I'm going to put you back in the queue for technical support, the wait's about twenty minutes.",
                ),
                ("customer", "Twenty minutes, on top of the thirty I've already waited."),
            ),
            (
                ("agent", "I'll transfer this chat to our accounts team, they'll pick it up shortly."),
                ("system", "Chat transferred to Accounts. Estimated wait: 12 min"),
                ("customer", "12 minutes?? ridiculous"),
            ),
            (
                ("customer", "Don't transfer me again, please, just sort it."),
                (
                    "agent",
                    "I'm sorry, I really can't change the delivery from here. The logistics desk can, and "
                    "I'll stay on until they answer.",
                ),
                ("system", "[Conference: Logistics Desk added]"),
                ("customer", "You people are something else."),
            ),
            (
                ("customer", "You've said bear with me four times now."),
                ("agent", "Bear with me, putting you through."),
                ("system", "Call forwarded to extension 4412"),
            ),
            (
                ("agent", "okay I'm gonna have to transfer you to the fraud team for that one"),
                ("customer", "oh for god's sake"),
                ("agent", "I'm sorry, they're the only ones who can unblock the card, stay on the line"),
                ("system", "[transferred]"),
            ),
            (
                ("system", "This conversation has been reassigned to another agent."),
                ("customer", "so I'm starting over. amazing"),
            ),
            (
                ("agent", "I'm going to transfer you to {team}, they handle disputes like this."),
                ("customer", "I was literally told by {team} to call you."),
                ("agent", "I'm sorry about that. I'll explain it when I pass you over."),
                ("system", "[call xfer]"),
            ),
            (
                ("customer", "I just want a yes or no on the refund."),
                (
                    "agent",
                    "And I can't give you that, I'm afraid, but the refunds desk can. I'll transfer you to them now.",
                ),
                ("customer", "Whatever gets me an answer."),
                ("system", "--- Transferred to Refunds (queue position 4) ---"),
            ),
            (
                ("agent", "You're through to the wrong line for business accounts, I'll move you across."),
                ("customer", "Your phone menu is a joke, you know that?"),
                ("system", "Transfer complete: Business Support"),
            ),
            (
                ("system", "{agent} transferred the chat to Olivia (Order Support)"),
                ("agent", "Hi, Olivia here. I can see you've been waiting, sorry about that."),
                ("customer", "Yeah. A long time. Can we just get on with it."),
            ),
            (
                ("agent", "I'll have to send you over to the warranty team for that."),
                ("customer", "sure. why not. one more department."),
                ("system", "[Call transferred to Warranty]"),
            ),
            (
                ("agent", "I've fixed the email on your account, that part's done."),
                ("agent", "For the charge though, I need to transfer you to billing, please hold."),
                ("customer", "I called about the charge, not the email."),
                ("system", "Transferring, please wait"),
            ),
            (
                ("customer", "Is there actually anyone there who can help or are you just going to pass me on?"),
                ("agent", "I'm passing you to a specialist who can. One moment."),
                ("system", "[Warm transfer to Tier 2 - agent Sam]"),
            ),
            (
                ("agent", "Hi, I'm connecting you with our returns team. I've briefed them on the situation."),
                ("system", "Ravi (Returns) joined the chat"),
                ("system", "{agent} left the chat"),
                ("customer", "Ravi, I really hope you're the last person I talk to today."),
            ),
            (
                ("agent", "right I'm just gonna transfer you to accounts they'll be able to sort that"),
                ("customer", "that's what the last person said"),
                ("system", "[transfer to Accounts]"),
            ),
            (
                ("agent", "The delivery team deal with missed drop-offs, so I'll put you through to them."),
                ("customer", "And if they hang up on me like last time?"),
                ("agent", "I'll give you their direct line in case the call drops."),
                ("customer", "Just put me through."),
            ),
            (
                ("system", "Your chat is being transferred to a specialist. Please do not close this window."),
                ("customer", "I have to leave for work in ten minutes, this is hopeless."),
            ),
            (
                ("agent", "Our technical support team will need to take this from here. I'll transfer you now."),
                ("customer", "Oh good, technical support. The people who told me it was a billing problem."),
                ("system", "[call transferred to Technical Support]"),
            ),
            (
                ("customer", "Just transfer me to someone who knows what they're doing."),
                ("agent", "I'll put you through to a senior agent on the orders team."),
                ("system", "Queued for: Orders - Senior"),
                ("customer", "Thank you, I guess."),
            ),
            (
                ("agent", "I've cancelled the duplicate order, so you won't be charged twice."),
                (
                    "agent",
                    "The gift card balance is a different system though; I'm going to put you through to "
                    "the gift card team.",
                ),
                ("customer", "Oh, brilliant. Another hold."),
                ("system", "[hold 04:51]"),
                ("system", "Connected to Gift Cards"),
            ),
            (
                ("agent", "I'll need to hand you over to my colleague in the payments team."),
                ("customer", "every time I contact you guys it's the same runaround"),
                ("system", "Chat handed over to Payments queue"),
            ),
            (
                ("system", "Transferring you to: Customer Care Level 2"),
                ("system", "[Agent {agent} disconnected from the call]"),
                ("customer", "Hello? Is anyone there? You're joking."),
            ),
            (
                (
                    "agent",
                    "I'm afraid marketplace sellers are handled by a separate team, I'll transfer you to their line.",
                ),
                ("customer", "You're a retailer and you can't help with something I bought on your site. Incredible."),
                ("system", "*** Call transferred to Marketplace Support ***"),
            ),
        ),
        "neutral": (
            (
                ("agent", "I'll transfer you to our billing team, one moment please."),
                ("customer", "Sure thing."),
                ("system", "[call transferred to Billing]"),
            ),
            (
                ("customer", "Who handles returns for marketplace orders?"),
                ("agent", "That's the marketplace returns team. I can put you straight through to them."),
                ("customer", "Yes please."),
                ("system", "Transferring..."),
            ),
            (
                ("system", "You are now connected with Sarah (Accounts)"),
                (
                    "agent",
                    "Hi, it's Sarah from accounts. I've got the notes from my colleague, let me just pull "
                    "up your account.",
                ),
                ("customer", "Sure, go ahead."),
            ),
            (
                (
                    "agent",
                    "I'm going to transfer you to technical support. If we get cut off, their number's on "
                    "the back of the box.",
                ),
                ("customer", "Right, I'll keep the box handy."),
            ),
            (
                ("agent", "Please stay on the line while I connect you to the orders team."),
                ("customer", "No problem."),
                ("system", "[hold 01:02]"),
                ("system", "[connected: Orders]"),
            ),
            (
                ("agent", "okay I'll pop you through to the returns team now"),
                ("customer", "okay thanks"),
                ("system", "[transferred to returns]"),
            ),
            (
                ("agent", "This chat will be transferred to our delivery specialists."),
                ("system", "Chat transferred to queue 'Delivery'."),
                ("customer", "ok"),
            ),
            (
                ("customer", "So I need to talk to someone in accounts?"),
                ("agent", "Yes, I'll transfer you there. You're second in line."),
                ("customer", "Alright."),
            ),
            (
                ("system", "Agent Maria has left the conversation"),
                ("system", "Agent Lee has joined the conversation"),
                ("agent", "Hello, Lee here from payments. Could you confirm the last four digits of the card?"),
                ("customer", "Sure, one sec."),
            ),
            (
                ("agent", "I've transferred the chat to our invoices team, they can regenerate the document for you."),
                ("customer", "Understood, I'll wait for them."),
            ),
            (
                ("agent", "Let me warm transfer you. I'll introduce the issue so you don't have to repeat it."),
                ("customer", "Okay, I'll hold."),
                ("system", "[Consult call: Tier 2 Support]"),
                (
                    "agent",
                    "Hi, I have a customer whose router keeps dropping connection after the update, order {order}.",
                ),
                ("system", "[Transfer completed]"),
            ),
            (
                ("customer", "can u transfer me to sales"),
                ("agent", "Sure, transferring now."),
                ("system", "Transferred to Sales"),
            ),
            (
                ("agent", "For the {plan} changes you'll need the subscriptions team. I'm putting you through."),
                ("customer", "Right, thanks."),
                ("system", "Call routed to: Subscriptions"),
            ),
            (
                ("agent", "I can update the address myself, actually, so that's done."),
                ("agent", "The exchange though is handled by returns. I'll transfer you across now."),
                ("customer", "Fair enough."),
                ("system", "--> transferred (Returns)"),
            ),
            (
                ("system", "Please hold while we connect you to the next available agent in Billing."),
                ("customer", "Sure, I'll wait."),
            ),
            (
                ("customer", "I'd like to speak to someone in the fraud department."),
                ("agent", "Of course, I'll connect you. It might take a minute."),
                ("system", "[ringing Fraud Prevention]"),
            ),
            (
                (
                    "agent",
                    "So what I'm going to do is send you through to our product specialists, because "
                    "they've got the spec sheets and can tell you whether the {product} is compatible. It's a "
                    "short queue at the moment.",
                ),
                ("customer", "Okay, that works."),
                ("system", "[Transferred to Product Specialists]"),
            ),
            (
                (
                    "agent",
                    "You're through to customer service, but for trade accounts there's a dedicated line. "
                    "Transferring you.",
                ),
                ("customer", "Alright, go ahead."),
                ("system", "call transferred to ext. 2209"),
            ),
            (
                ("system", "Conversation assigned to Jordan (Escalations Desk)"),
                ("agent", "Hi, Jordan here. I'm picking this up from my colleague."),
                ("customer", "Hi Jordan. Okay, what do you need from me?"),
            ),
            (
                ("agent", "One moment, I'm passing you over to {team}."),
                ("customer", "ok sure"),
            ),
            (
                ("customer", "is this the right number for a business account"),
                ("agent", "no it's not but I can transfer you, hold on"),
                ("system", "[transfer]"),
            ),
            (
                ("agent", "I'm handing this chat to my colleague Ben in logistics. He'll be with you shortly."),
                ("system", "Ben (Logistics) has entered the chat."),
                ("customer", "Hi Ben."),
            ),
            (
                ("customer", "Can you put me through to whoever deals with invoices?"),
                ("agent", "Certainly, that's our finance team. Connecting you now."),
                ("system", "Transferring to Finance, estimated wait 3 minutes"),
                ("customer", "Fine, I'll hold."),
            ),
            (
                (
                    "agent",
                    "I'll transfer you to the warranty department, they'll need the serial number from the {product}.",
                ),
                ("customer", "Okay, I have it here."),
                ("system", "[transferring to Warranty]"),
            ),
            (
                ("system", "The assistant has transferred you to a live agent. Average wait: 2 minutes."),
                ("customer", "ok, waiting"),
            ),
            (
                ("agent", "I've put a note on your account for the next person. Transferring you to accounts now."),
                ("customer", "Noted, thank you."),
                ("system", "Call transferred at 14:32"),
            ),
            (
                ("agent", "That's a question for our installations team, let me get you over to them."),
                ("customer", "Sure, thanks."),
                ("system", "[Blind transfer > Installations]"),
            ),
            (
                ("system", "{agent} has transferred this conversation to the Returns queue."),
                ("system", "Priya from Returns is now handling your chat."),
                ("agent", "Hi there, Priya from returns. I've read the conversation so far."),
                ("customer", "Okay, so you've got the order number already?"),
            ),
        ),
        "positive": (
            (
                ("agent", "I'll transfer you to our billing team, they can refund that straight away."),
                ("customer", "Thanks, perfect."),
                ("system", "[Call transferred: Billing / Refunds]"),
            ),
            (
                ("agent", "The person who can approve that is in our returns team, shall I put you through?"),
                ("customer", "Oh great, yes, please put me through."),
                ("system", "Transferring you now..."),
            ),
            (
                ("system", "You are now connected with Tom (Returns)"),
                ("customer", "Hi Tom, thanks so much for picking up so quickly!"),
            ),
            (
                (
                    "agent",
                    "I've found the right person for you, I'm transferring you to our technical specialist, Ana.",
                ),
                ("customer", "Amazing, thank you for finding her."),
                ("system", "[Warm transfer: Ana, Technical Support]"),
            ),
            (
                ("agent", "Bear with me, I'm putting you through to accounts."),
                ("customer", "No problem at all, you've been brilliant."),
            ),
            (
                (
                    "agent",
                    "So the refund for the {product} has gone through, you'll see {amount} back in three to five days.",
                ),
                ("agent", "For the loyalty points question, I'll transfer you to our rewards team."),
                ("customer", "Lovely, thank you so much!"),
                ("system", "*** Transferred to Rewards ***"),
            ),
            (
                ("system", "Chat transferred to Lucy (Orders)"),
                ("agent", "Hi, Lucy from orders here, I can change that delivery date for you."),
                ("customer", "Yay, thank you!"),
            ),
            (
                (
                    "agent",
                    "I'm just going to transfer you over to the payments team they'll be able to sort that out for you",
                ),
                ("customer", "oh brilliant thank you so much"),
                ("system", "[transferred to payments]"),
            ),
            (
                ("customer", "Thank you for explaining, that makes so much more sense now."),
                ("agent", "Happy to help. I'll pop you through to the subscriptions team to make the change."),
                ("system", "Transfer in progress"),
            ),
            (
                ("agent", "Our installations team can book that for you, I'll put you through now."),
                ("customer", "Great stuff, cheers."),
            ),
            (
                ("agent", "I've added notes so the next agent has everything, you won't need to repeat yourself."),
                ("customer", "Oh that's so thoughtful, thank you."),
                ("system", "[call transferred - Tier 2]"),
            ),
            (
                ("system", "A specialist has joined the chat"),
                ("agent", "Hi, I'm Grace from our fraud team. I've been brought in to help with those transactions."),
                ("customer", "Thank goodness, thank you for jumping in."),
            ),
            (
                (
                    "agent",
                    "You'll want to speak to our business sales team for that bulk order, they often do discounts.",
                ),
                ("customer", "Oh nice, yes please, transfer me."),
                ("system", "Transferring to Business Sales..."),
            ),
            (
                ("agent", "transferring you to returns"),
                ("customer", "thx :)"),
            ),
            (
                ("agent", "Of course you can speak to a supervisor, I'll transfer you to Martin now."),
                ("customer", "Thank you, I appreciate that."),
                ("system", "[Supervisor transfer > Martin]"),
            ),
            (
                ("customer", "Honestly you've been more helpful than anyone so far."),
                ("agent", "That's kind of you. The returns desk will finish this off; connecting you now."),
                ("system", "Call transferred successfully"),
            ),
            (
                ("agent", "I'm going to hand you over to my colleague in billing who can apply the credit."),
                ("system", "Mike (Billing) joined the chat"),
                ("system", "{agent} has left"),
                ("customer", "Hi Mike! Thanks for taking over."),
            ),
            (
                ("system", "Your call is being transferred. Please hold."),
                ("customer", "Thanks again, you've been super helpful."),
            ),
            (
                ("agent", "I've got Rachel from warranty on the line, I've explained the situation."),
                ("agent", "Rachel, I'll leave you with the customer now."),
                ("customer", "Thanks so much, both of you."),
                ("system", "[Agent {agent} left the call]"),
            ),
            (
                ("agent", "Right, let me get you over to the team that can actually release the parcel, hang on."),
                ("customer", "Brilliant, you're a lifesaver."),
            ),
            (
                ("system", "Routing your chat to Technical Support..."),
                ("system", "You are now chatting with Kev (Technical Support)"),
                ("customer", "Hi Kev, great, thanks for the quick pickup."),
            ),
            (
                (
                    "agent",
                    "Since the order's through a marketplace seller, I'll transfer you to our marketplace "
                    "team; they're really good.",
                ),
                ("customer", "Oh perfect, I didn't even know you had one, thanks!"),
                ("system", "*** transferred to Marketplace ***"),
            ),
            (
                ("customer", "oh so you can put me through to the right people, great"),
                ("agent", "yep no problem at all just hold the line one sec"),
                ("system", "[call transferred to accounts]"),
            ),
            (
                (
                    "agent",
                    "I've already updated your email, so that's done. The card change needs billing, so "
                    "I'll transfer you.",
                ),
                ("customer", "Perfect, thanks for doing the email bit."),
                ("system", "> Billing"),
            ),
            (
                ("agent", "Please hold for a moment while I connect you to the right department."),
                ("customer", "Of course, thank you for your help!"),
                ("system", "[hold 00:48]"),
                ("system", "[connected to Customer Relations]"),
            ),
            (
                ("system", "Transfer accepted by Noah (Orders)"),
                ("agent", "Hi, Noah here, I've got order {order} up already."),
                ("customer", "Oh fab, that was quick, thank you!"),
            ),
            (
                ("customer", "Can I talk to someone about a bigger plan?"),
                ("agent", "Absolutely, I'll transfer you to our upgrades team, they'll go through the options."),
                ("customer", "Great, thanks a lot!"),
            ),
            (
                ("agent", "I'll send you through to our delivery team who can rebook it. It shouldn't be a long wait."),
                ("customer", "Cheers, you've been really patient with me."),
                ("system", "[queue: Delivery | position 1]"),
            ),
        ),
    },
    "callback_scheduled": {
        "negative": (
            (
                ("agent", "I'll have someone from {team} call you back {day}, {time}."),
                ("customer", "So I can't get an answer today. Right."),
            ),
            (
                ("customer", "I work during the day, I can't just sit by the phone."),
                ("agent", "I get that. The earliest slot they have is {day}, {time}. Shall I book that?"),
                ("customer", "I suppose I'll have to take it."),
                ("agent", "It's booked."),
            ),
            (
                ("agent", "I've booked a callback for {day}, {time}. Is this still the best number to reach you on?"),
                ("customer", "Yes. And if nobody rings this time I'm cancelling everything."),
            ),
            (
                ("customer", "You said someone would call me back yesterday. Nobody did."),
                ("agent", "I'm really sorry. I've rebooked it for {day}, {time} and marked it as a priority."),
                ("customer", "We'll see."),
            ),
            (
                ("agent", "The specialist team will ring you {day} to go through the refund."),
                ("customer", "Another phone call. Just what I needed."),
            ),
            (
                ("agent", "We'll email you an update {day}."),
                ("customer", "I've had updates for two weeks. I want an actual answer."),
                ("agent", "The email will have a decision in it, I've made sure of that."),
                ("customer", "If you say so."),
            ),
            (
                ("agent", "so the earliest they can call you is {day} {time}"),
                ("customer", "that's useless to me but book it"),
            ),
            (
                ("agent", "I'll get a callback arranged for {day}, {time}, under reference {ticket}."),
                ("customer", "And what am I supposed to do with a broken {product} until then?"),
            ),
            (
                ("agent", "A manager isn't available right now, but I've asked one to call you {day}."),
                ("customer", "I'll believe that when my phone actually rings."),
            ),
            (
                ("customer", "Can't someone just call me today?"),
                ("agent", "I'm afraid the technical team is fully booked today. The first slot is {day}, {time}."),
                ("customer", "Well, that's just great."),
            ),
            (
                ("agent", "So you'd prefer the morning, is that right?"),
                ("customer", "I said that already. Mornings, any morning."),
                ("agent", "Okay, I've put you down for the first morning slot, {day}."),
                ("customer", "Thank you for finally listening."),
            ),
            (
                ("agent", "Someone from the escalations team will phone you {day}, {time}."),
                ("customer", "Escalations. So it's that bad."),
                ("customer", "I'll be waiting, then."),
            ),
            (
                ("agent", "I've booked you a callback for {day}, and the number I've got is the one ending in 42."),
                ("customer", "Yes that's it. Not that anyone ever uses it."),
            ),
            (
                ("agent", "Our team will reach out via email {day}."),
                ("customer", "emails go unanswered with you lot, but ok"),
            ),
            (
                ("customer", "Why do I have to wait for a call back? I'm on the phone with you now."),
                (
                    "agent",
                    "Because the billing specialists need to look at the account first, and they'll ring "
                    "you {day}, {time}.",
                ),
                ("customer", "This is ridiculous."),
            ),
            (
                ("agent", "Is {day} okay for the call back?"),
                ("customer", "doesn't matter. I'll be waiting either way"),
            ),
            (
                ("agent", "I've fixed the duplicate subscription, so that won't charge again."),
                (
                    "agent",
                    "For the money already taken, billing will need to call you {day}, {time} to confirm the refund.",
                ),
                ("customer", "So I'm still out of pocket until they call. Marvellous."),
            ),
            (
                ("agent", "Would you like a callback {day}?"),
                ("customer", "What I'd like is for this to be fixed today. But yes, go on then."),
                ("agent", "Okay, it's booked for {time}."),
            ),
            (
                ("system", "Callback scheduled: {day} {time} | Queue: Returns"),
                ("customer", "Another wait for my money, as usual."),
            ),
            (
                ("agent", "The courier team will email you {day} with the new delivery slot."),
                ("customer", "They'd better, because I took a day off for the last one."),
            ),
            (
                ("agent", "Can I confirm the best number to call you back on?"),
                ("customer", "The same one I've given three times today."),
                ("agent", "Thanks, that's on the booking now, and the call will come {day}, {time}."),
            ),
            (
                ("agent", "I'll get my supervisor to give you a ring {day}"),
                ("customer", "and what time is that, or do I just sit here all day"),
                ("agent", "she'll call {time}"),
                ("customer", "yeah fine whatever"),
            ),
            (
                ("agent", "Your callback is booked with the fraud team. They'll call from a withheld number {day}."),
                ("customer", "A withheld number. Which I'm always told never to answer. Just perfect."),
            ),
            (
                ("customer", "Just get someone to call me, I'm done with this chat."),
                ("agent", "Of course. I've arranged a call for {day}, {time}, reference {ticket}."),
                ("customer", "Whatever."),
            ),
            (
                ("agent", "I've booked a slot for {day}, {time}. You'll get a text confirming it."),
                ("customer", "I had a text last time as well and nobody called."),
                ("agent", "I've added a note to make sure it's honoured."),
                ("customer", "Sure you have."),
            ),
            (
                ("agent", "A specialist will write to you {day} with the outcome of the review."),
                ("customer", "Write to me. In this day and age."),
            ),
            (
                ("customer", "So what now, I just wait for another call?"),
                ("agent", "Yes, the returns supervisor will call you {day}, {time}. I've given her all the details."),
                ("customer", "I hope she's better than the last one."),
            ),
            (
                ("agent", "Right, that's booked, someone will call you {day}, {time}."),
                ("customer", "I was promised a call last week too."),
                ("agent", "I can see that, and I'm sorry. This one is booked in the system, not just noted."),
                ("customer", "Yeah, yeah."),
            ),
        ),
        "neutral": (
            (
                ("agent", "Someone from {team} will call you {day}, {time}."),
                ("customer", "Ok, that works for me."),
            ),
            (
                ("agent", "What time suits you best for a call back?"),
                ("customer", "{time} is fine."),
                ("agent", "I've booked it for {day}."),
            ),
            (
                ("agent", "I've scheduled a call back for {day}, {time}, on the mobile number ending 07."),
                ("customer", "Yes, that's right."),
            ),
            (
                ("agent", "We'll email you {day} with the outcome."),
                ("customer", "Alright, I'll check my email."),
            ),
            (
                ("customer", "Can someone call me instead? I'm in a meeting soon."),
                ("agent", "Sure, would {day}, {time} work?"),
                ("customer", "Yes, that's fine."),
                ("agent", "Done, you'll get a call then."),
            ),
            (
                ("agent", "okay so I've booked that callback in for {day} {time}"),
                ("customer", "okay yeah that's fine"),
            ),
            (
                ("system", "Callback requested for {name} - {day}, {time}"),
                ("agent", "That's in the system. The technical team will ring you."),
                ("customer", "Ok, I'll keep my phone on."),
            ),
            (
                ("agent", "Which number should we call you on?"),
                ("customer", "The mobile, not the landline."),
                ("agent", "Got it, the mobile. The specialist will call {day}."),
            ),
            (
                ("agent", "The billing team will be in touch {day}."),
                ("customer", "Sure, no problem."),
            ),
            (
                ("customer", "Any time works, honestly."),
                (
                    "agent",
                    "Okay, I'll put you down for {day}, {time}. If that doesn't suit, reply to the confirmation text.",
                ),
                ("customer", "Will do, thanks."),
            ),
            (
                ("agent", "A returns specialist will phone you {day} to arrange collection of the {product}."),
                ("customer", "Ok, sounds good."),
            ),
            (
                ("agent", "Would you like us to call you, or would email be better?"),
                ("customer", "Email's better."),
                ("agent", "Okay, you'll get an email from us {day}."),
            ),
            (
                ("agent", "Your callback is confirmed for {day}, {time}. The reference is {ticket}."),
                ("customer", "Thanks, I'll note that down."),
            ),
            (
                ("agent", "The manager's not in today, but she'll call you {day}."),
                ("customer", "That's okay."),
            ),
            (
                ("agent", "Callback booked: {day}, {time}."),
                ("customer", "ok thx"),
            ),
            (
                ("agent", "I've sorted the password reset, so you can log in now."),
                ("agent", "For the invoice dispute, the accounts team will call you {day}, {time}."),
                ("customer", "Okay, I'll expect their call."),
            ),
            (
                ("customer", "What number will they call from?"),
                ("agent", "It'll show as {company} customer care. They'll call {day}."),
                ("customer", "Ok, I'll look out for it."),
            ),
            (
                ("agent", "Just to confirm, you'd like the call {day}, {time}, on the number ending 318?"),
                ("customer", "That's correct."),
            ),
            (
                ("system", "[Callback scheduled: {day}, {time} - Billing]"),
                ("customer", "ok, speak then"),
            ),
            (
                (
                    "customer",
                    "I'm out most of the day, and then I've got the school run, so honestly whenever "
                    "after that, or if it's easier just email me and I'll read it tonight.",
                ),
                ("agent", "Let's do email then, the team will write to you {day}."),
                ("customer", "Yeah, that's easiest."),
            ),
            (
                ("agent", "The technician will call you {day} between eight and twelve to confirm the visit."),
                ("customer", "Right, I'll be in."),
            ),
            (
                ("agent", "Someone from {team} will get back to you {day}."),
                ("customer", "Is there a reference number for that?"),
                ("agent", "Yes, {ticket}."),
            ),
            (
                ("customer", "can they call me on my work number instead"),
                ("agent", "sure I've updated it, they'll call you there {day} {time}"),
                ("customer", "okay good"),
            ),
            (
                ("agent", "I'll arrange a callback for when the investigation's done, which should be {day}."),
                ("customer", "Alright, thanks for letting me know."),
            ),
            (
                ("agent", "The earliest callback is {day}, {time}, or there's a later one the same day."),
                ("customer", "The earlier one's fine."),
                ("agent", "Booked."),
            ),
            (
                (
                    "agent",
                    "I've requested a call from our payments team for {day}. They'll confirm the exact time by text.",
                ),
                ("customer", "Ok, understood."),
            ),
            (
                ("customer", "So they'll ring me, I don't need to call back?"),
                ("agent", "That's right, they'll ring you {day}, {time}. You don't need to do anything."),
                ("customer", "Fine, I'll leave it with them."),
            ),
            (
                ("agent", "We'll send an email {day} once the warehouse has checked the stock."),
                ("agent", "If you haven't heard by then, just reply to the confirmation with reference {ticket}."),
                ("customer", "Understood."),
            ),
        ),
        "positive": (
            (
                ("agent", "I've booked you a call back {day}, {time}."),
                ("customer", "Perfect, thank you so much."),
            ),
            (
                ("customer", "Could they call me {day}? That would be really helpful."),
                ("agent", "Absolutely, I've booked it for {time}."),
                ("customer", "Brilliant, thanks!"),
            ),
            (
                ("agent", "Our specialist will call you {day}, {time} to go through the setup step by step."),
                ("customer", "Oh that would be amazing, thank you."),
            ),
            (
                ("agent", "so I've put in for a callback {day} {time} and they'll call you on your mobile"),
                ("customer", "oh lovely that's great thank you"),
            ),
            (
                ("agent", "I've already fixed the billing address, so that part's done."),
                ("agent", "And the delivery team will phone you {day} to rebook the {product}."),
                ("customer", "Perfect, that's everything then, thank you!"),
            ),
            (
                ("agent", "What's the best time to reach you?"),
                ("customer", "{time} would be ideal."),
                ("agent", "Great, I've got you down for {day}, {time}."),
                ("customer", "Fantastic, thanks so much."),
            ),
            (
                ("agent", "We'll email you {day} with the replacement details."),
                ("customer", "Great, that's really helpful, thank you."),
            ),
            (
                ("customer", "Thanks for arranging the call, I really didn't want to sit on hold again."),
                ("agent", "Not a problem. They'll ring {day}, {time}."),
            ),
            (
                ("agent", "My supervisor will give you a call {day} to go through the compensation."),
                ("customer", "Oh, that's very kind of them."),
            ),
            (
                ("system", "Callback confirmed: {day}, {time}"),
                ("customer", "Great, thank you for sorting that!"),
            ),
            (
                ("agent", "Can I confirm your number is still the one ending 556?"),
                ("customer", "Yes, that's the one."),
                ("agent", "Lovely, and you'll get a call {day}, {time}."),
                ("customer", "Thank you, you've been so helpful."),
            ),
            (
                ("agent", "The engineer will call you {day} to book the repair."),
                ("customer", "Excellent, I'm so relieved."),
            ),
            (
                ("agent", "All booked! We'll call you {day}, {time}."),
                ("customer", "yay thanks so much :)"),
            ),
            (
                ("customer", "Would it be possible for someone to call me back later? I'm driving."),
                ("agent", "Of course, stay safe. I'll book a call for {day}, {time}."),
                ("customer", "Thank you, that's really considerate."),
            ),
            (
                ("agent", "The returns team will email you a prepaid label {day}."),
                ("customer", "Perfect, I'll keep an eye on my inbox. Thanks!"),
            ),
            (
                (
                    "agent",
                    "I've asked the billing specialist to ring you {day} so you can go through the refund together.",
                ),
                ("customer", "That's great, I really appreciate it."),
            ),
            (
                ("agent", "Is {day}, {time} convenient for the call?"),
                ("customer", "That's perfect, actually."),
                ("agent", "Great, it's in the diary."),
                ("customer", "Thanks a million."),
            ),
            (
                ("agent", "So you've got the reference, {ticket}, and we'll call you {day}."),
                ("customer", "Honestly, thank you for being so patient."),
            ),
            (
                ("customer", "that's brilliant so someone will call me {day}"),
                ("agent", "yeah that's right they'll call you {time}"),
                ("customer", "perfect thanks ever so much"),
            ),
            (
                ("agent", "I'll personally call you back {day}, {time} once I've heard from the warehouse."),
                ("customer", "Thank you {agent}, that's above and beyond."),
            ),
            (
                ("agent", "Our team will send you an email {day} confirming the new delivery date."),
                ("customer", "Lovely, that's a weight off my mind."),
            ),
            (
                ("system", "Callback booked for {day}, {time}. You'll receive an SMS reminder."),
                ("customer", "Oh handy, thank you!"),
            ),
            (
                ("customer", "Thanks for booking that in, you've been a great help."),
                ("agent", "You're welcome. Technical support will call {day}, {time}."),
                ("customer", "Great, talk to them then."),
            ),
            (
                ("agent", "Since it's late, would you rather I get someone to call you {day}?"),
                ("customer", "Yes please, that would be so much easier, thank you."),
                ("agent", "Done, they'll call {time}."),
            ),
            (
                (
                    "agent",
                    "I've sorted your refund, and I've also booked a call with the accounts team {day} to "
                    "go over the new plan.",
                ),
                ("customer", "Amazing, thank you for doing both."),
            ),
            (
                ("agent", "A specialist from {team} will call you {day}, {time}, to finish setting up the {plan}."),
                ("customer", "Wonderful, thank you, I'm looking forward to it."),
            ),
            (
                ("customer", "The afternoon's best for me if possible."),
                ("agent", "Sure, I've booked an afternoon slot, they'll ring you then."),
                ("customer", "Ah great, thanks for fitting around me."),
            ),
            (
                (
                    "agent",
                    "We'll write to you {day} with confirmation of the refund, and you can call us if "
                    "anything looks off.",
                ),
                ("customer", "That's great, thanks for all your help."),
            ),
        ),
    },
}
