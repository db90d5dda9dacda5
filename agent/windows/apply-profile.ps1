# placeholder: written later in this session
